/**
 * Stripe's v1 idempotency layer (https://docs.stripe.com/api/idempotent_requests):
 *
 * - scope is (API key, Idempotency-Key);
 * - the first response produced once endpoint execution began is saved and
 *   replayed for later requests with the same key (errors included);
 * - a request reusing a key for another endpoint or other parameters gets a
 *   400 `idempotency_error`; one arriving while the first is still executing
 *   gets a 409 `idempotency_key_in_use`; neither is saved;
 * - requests that never began executing (validation failures…) release the
 *   key without saving anything;
 * - saved keys are forgotten after `windowMs` (pruned lazily on `begin`).
 *
 * Generic over the saved response type so it knows nothing about HTTP.
 */
import type { FormObject, FormValue } from './form-body.js';
import {
  idempotencyEndpointMismatch,
  idempotencyKeyInUse,
  idempotencyParamsMismatch,
} from './stripe-errors.js';

export interface IdempotentRequest {
  readonly apiKey: string;
  readonly key: string;
  readonly method: string;
  readonly path: string;
  readonly params: FormObject;
}

export interface Reservation<R> {
  /** Saves `response` as the key's result. */
  complete(response: R): void;
  /** Forgets the key without saving (the endpoint never executed). */
  release(): void;
}

export type IdempotencyOutcome<R> =
  | { readonly kind: 'replay'; readonly response: R }
  | { readonly kind: 'fresh'; readonly reservation: Reservation<R> };

interface Entry<R> {
  readonly endpoint: string;
  readonly fingerprint: string;
  readonly firstSeenAt: number;
  response?: R;
}

export class IdempotencyStore<R> {
  private readonly entries = new Map<string, Entry<R>>();

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Replays a saved result, reserves the key, or throws a Stripe `idempotency_error`. */
  begin(request: IdempotentRequest): IdempotencyOutcome<R> {
    this.prune();
    const scope = scopeOf(request);
    const endpoint = `${request.method} ${request.path}`;
    const fingerprint = canonicalJson(request.params);
    const existing = this.entries.get(scope);
    if (existing === undefined) return { kind: 'fresh', reservation: this.reserve(scope, endpoint, fingerprint) };
    if (existing.endpoint !== endpoint) throw idempotencyEndpointMismatch(request.key, existing.endpoint, endpoint);
    if (existing.fingerprint !== fingerprint) throw idempotencyParamsMismatch(request.key);
    if (existing.response === undefined) throw idempotencyKeyInUse(request.key);
    return { kind: 'replay', response: existing.response };
  }

  /** Forgets every saved result, as if the retention window had passed. In-flight keys stay locked. */
  expireAll(): void {
    for (const [scope, entry] of this.entries) {
      if (entry.response !== undefined) this.entries.delete(scope);
    }
  }

  /** Forgets the saved results `matches` picks, as if they had never been saved. In-flight keys stay locked. */
  forgetWhere(matches: (response: R) => boolean): void {
    for (const [scope, entry] of this.entries) {
      if (entry.response !== undefined && matches(entry.response)) this.entries.delete(scope);
    }
  }

  private reserve(scope: string, endpoint: string, fingerprint: string): Reservation<R> {
    const entry: Entry<R> = { endpoint, fingerprint, firstSeenAt: this.now() };
    this.entries.set(scope, entry);
    const isCurrent = (): boolean => this.entries.get(scope) === entry && entry.response === undefined;
    return {
      complete: (response) => {
        if (isCurrent()) entry.response = response;
      },
      release: () => {
        if (isCurrent()) this.entries.delete(scope);
      },
    };
  }

  private prune(): void {
    const now = this.now();
    for (const [scope, entry] of this.entries) {
      if (entry.response !== undefined && now - entry.firstSeenAt >= this.windowMs) this.entries.delete(scope);
    }
  }
}

function scopeOf(request: IdempotentRequest): string {
  return JSON.stringify([request.apiKey, request.key]);
}

/** JSON with object keys sorted, so parameter order does not matter. */
function canonicalJson(value: FormValue): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key] as FormValue)}`).join(',')}}`;
}
