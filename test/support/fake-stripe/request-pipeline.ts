/**
 * What happens to one API request, independent of HTTP:
 *
 *   authenticate -> route -> [rate limiter] -> fault check -> idempotency (replay / 400 / 409 /
 *   reserve) -> validate -> [timeout hold] -> execute -> save under the key
 *   -> [applied timeout hold] -> answer | drop
 *
 * Fault semantics:
 * - `rate_limit`, `error` (not applied): answered before anything runs; nothing saved.
 * - `error` applied: runs normally (executes or replays), then the client gets
 *   the error; a fresh execution saves the error as the key's result.
 * - `timeout` (not applied): held after the key is reserved, before executing;
 *   if the client leaves meanwhile the key is released unexecuted.
 * - `timeout` applied: executes and saves, then holds the answer.
 * - `lost_response`: executes (or replays) and saves, then the connection is dropped.
 */
import { errorResponse, jsonResponse, type ApiResponse, type ResponseContext } from './api-response.js';
import type { ErrorFault, FaultInjector, FaultRule, MatchedFault } from './fault-injector.js';
import type { FormObject } from './form-body.js';
import type { ApiRequest } from './http-exchange.js';
import type { IdempotencyOutcome, IdempotencyStore, Reservation } from './idempotency-store.js';
import { newRequestId } from './ids.js';
import type { RateLimiter } from './rate-limiter.js';
import type { RequestLogEntry } from './request-log.js';
import { routeInput, type Execution, type RouteMatch, type Router } from './router.js';
import {
  ApiError,
  authenticationFailed,
  invalidRequest,
  rateLimited,
  serverError,
  unrecognizedUrl,
} from './stripe-errors.js';

export type Delivery =
  | { readonly kind: 'answer'; readonly response: ApiResponse; readonly headers: Readonly<Record<string, string>> }
  | { readonly kind: 'drop' }
  | { readonly kind: 'abandon' };

export interface PipelineConfig {
  readonly apiKey: string;
  readonly apiVersion: string;
}

export interface PipelineParts {
  readonly router: Router;
  readonly faults: FaultInjector;
  readonly idempotency: IdempotencyStore<ApiResponse>;
  /** Stripe's limiter (rate-limiter.ts), checked once a request is routed; none: no limit. */
  readonly rateLimiter?: RateLimiter;
}

const MAX_IDEMPOTENCY_KEY_LENGTH = 255;
const ABANDON: Delivery = { kind: 'abandon' };
const NO_RESERVATION: Reservation<ApiResponse> = { complete: () => undefined, release: () => undefined };

export class RequestPipeline {
  constructor(
    private readonly config: PipelineConfig,
    private readonly parts: PipelineParts,
  ) {}

  /** `signal` aborts when the client disconnects or the server shuts down. */
  async run(request: ApiRequest, entry: RequestLogEntry, signal: AbortSignal): Promise<Delivery> {
    const context: ResponseContext = {
      requestId: newRequestId(),
      stripeVersion: request.stripeVersion ?? this.config.apiVersion,
    };
    try {
      if (request.apiKey !== this.config.apiKey) throw authenticationFailed(request.apiKey);
      const match = this.parts.router.match(request.method, request.path);
      if (match === undefined) throw unrecognizedUrl(request.method, request.path);
      if (this.parts.rateLimiter?.admit(`${request.method} ${match.route.pattern}`, entry.at) === false) throw rateLimited(1);
      const fault = this.parts.faults.take(request.method, request.path);
      if (fault !== undefined) entry.fault = fault.rule.kind;
      const refusal = fault === undefined ? undefined : refusalFor(fault.rule);
      if (refusal !== undefined) throw refusal;
      return await this.process(request, match, fault, entry, signal, context);
    } catch (error) {
      if (error instanceof ApiError) return answer(errorResponse(error, context), request, false);
      throw error;
    }
  }

  private async process(
    request: ApiRequest,
    match: RouteMatch,
    fault: MatchedFault | undefined,
    entry: RequestLogEntry,
    signal: AbortSignal,
    context: ResponseContext,
  ): Promise<Delivery> {
    const params = request.method === 'GET' ? request.query : request.body;
    const begun = this.beginIdempotent(request, params);
    const produced = begun.kind === 'replay'
      ? begun.response
      : await this.execute(match, params, fault, begun.reservation, signal, context);
    if (produced === undefined) return ABANDON;
    const response = fault?.rule.kind === 'error' ? errorResponse(faultError(fault.rule), context) : produced;
    if (begun.kind === 'fresh') begun.reservation.complete(response);
    const replayed = begun.kind === 'replay' && response === produced;
    entry.replayed = replayed;

    const holdsAnswer = fault?.rule.kind === 'timeout' && (begun.kind === 'replay' || fault.rule.applied === true);
    if (holdsAnswer && !(await stillWanted(fault, signal))) return ABANDON;
    if (fault?.rule.kind === 'lost_response') return { kind: 'drop' };
    return answer(response, request, replayed);
  }

  /** Validates, optionally holds, then executes. `undefined` when the client left during the hold. */
  private async execute(
    match: RouteMatch,
    params: FormObject,
    fault: MatchedFault | undefined,
    reservation: Reservation<ApiResponse>,
    signal: AbortSignal,
    context: ResponseContext,
  ): Promise<ApiResponse | undefined> {
    let execution: Execution;
    try {
      execution = match.route.prepare(routeInput(match, params));
    } catch (validationError) {
      reservation.release();
      throw validationError;
    }
    const holdsExecution = fault?.rule.kind === 'timeout' && fault.rule.applied !== true;
    if (holdsExecution && !(await stillWanted(fault, signal))) {
      reservation.release();
      return undefined;
    }
    return runExecution(execution, context);
  }

  private beginIdempotent(request: ApiRequest, params: FormObject): IdempotencyOutcome<ApiResponse> {
    const { idempotencyKey: key, apiKey = '', method, path } = request;
    if (key === undefined || method === 'GET') return { kind: 'fresh', reservation: NO_RESERVATION };
    if (key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
      throw invalidRequest(`Idempotency-Key must be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters long.`);
    }
    return this.parts.idempotency.begin({ apiKey, key, method, path, params });
  }
}

function runExecution(execution: Execution, context: ResponseContext): ApiResponse {
  try {
    return jsonResponse(200, execution(), context);
  } catch (error) {
    if (error instanceof ApiError) return errorResponse(error, context);
    const detail = error instanceof Error ? error.message : String(error);
    return errorResponse(serverError(500, `fake-stripe internal error: ${detail}`), context);
  }
}

/** Faults answered before the endpoint runs. */
function refusalFor(rule: FaultRule): ApiError | undefined {
  if (rule.kind === 'rate_limit') return rateLimited(rule.retryAfterSeconds ?? 1);
  if (rule.kind === 'error' && rule.applied !== true) return faultError(rule);
  return undefined;
}

function faultError(rule: ErrorFault): ApiError {
  return serverError(rule.status ?? 500, rule.message);
}

async function stillWanted(fault: MatchedFault, signal: AbortSignal): Promise<boolean> {
  return (await fault.hold(signal)) !== 'aborted';
}

function answer(response: ApiResponse, request: ApiRequest, replayed: boolean): Delivery {
  const key = request.method === 'GET' ? undefined : request.idempotencyKey;
  const originalRequestId = response.headers['Request-Id'];
  const headers: Record<string, string> = {
    ...(key === undefined ? {} : { 'Idempotency-Key': key }),
    ...(replayed ? { 'Idempotent-Replayed': 'true' } : {}),
    ...(replayed && originalRequestId !== undefined ? { 'Original-Request': originalRequestId } : {}),
  };
  return { kind: 'answer', response, headers };
}
