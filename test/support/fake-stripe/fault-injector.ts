/**
 * Fault rules matched against incoming requests. Rules are checked in the
 * order they were added; the first one with budget left takes the request and
 * spends one of its `times`. What a fault *does* is decided by the server
 * (see `fake-stripe-server.ts`); this module only matches, counts and holds.
 */
import { hold, type HoldOutcome } from './hold.js';
import { matchesPath, type PathPattern } from './path-pattern.js';

export type FaultMethod = 'GET' | 'POST';

interface FaultMatcher {
  method?: FaultMethod;
  /** A string matches the path exactly (no query); a RegExp is tested against the path. */
  path?: PathPattern;
  /** How many requests the rule affects. Default 1; `Infinity` allowed. */
  times?: number;
}

/** Answer with a Stripe `api_error`. `applied: true` executes (and saves under the idempotency key) first. */
export interface ErrorFault extends FaultMatcher {
  kind: 'error';
  status?: number;
  message?: string;
  applied?: boolean;
}

/** 429 `rate_limit_error` with `Retry-After`. Never executed, never saved. */
export interface RateLimitFault extends FaultMatcher {
  kind: 'rate_limit';
  retryAfterSeconds?: number;
}

/**
 * Hold the request without answering for `holdMs` (default: until released,
 * `fake.close()` or the client disconnects), then answer normally.
 * `applied: false` (default): the idempotency key is reserved during the hold,
 * execution happens after it, and a disconnect releases the key unexecuted.
 * `applied: true`: executes and saves first, then holds the answer.
 */
export interface TimeoutFault extends FaultMatcher {
  kind: 'timeout';
  holdMs?: number;
  applied?: boolean;
}

/** Execute and save the result, then destroy the socket without answering. */
export interface LostResponseFault extends FaultMatcher {
  kind: 'lost_response';
}

export type FaultRule = ErrorFault | RateLimitFault | TimeoutFault | LostResponseFault;
export type FaultKind = FaultRule['kind'];

export interface FaultHandle {
  readonly rule: FaultRule;
  /** Requests this rule has matched so far. */
  readonly hits: number;
  /** Requests this rule is holding right now (timeout rules). */
  readonly held: number;
  /** Matches left (`Infinity` for unlimited rules). */
  readonly remaining: number;
  /** Stops matching and releases any request it holds. */
  remove(): void;
  /** Lets the requests it currently holds carry on now. */
  release(): void;
}

/** A rule that matched one request. */
export interface MatchedFault {
  readonly rule: FaultRule;
  /** Parks the request (see `hold`), using the rule's `holdMs` for timeout rules. */
  hold(abort: AbortSignal): Promise<HoldOutcome>;
}

class FaultEntry implements FaultHandle {
  hits = 0;
  held = 0;
  remaining: number;
  private releaser = new AbortController();

  constructor(
    readonly rule: FaultRule,
    private readonly detach: (entry: FaultEntry) => void,
  ) {
    this.remaining = rule.times ?? 1;
  }

  matches(method: string, path: string): boolean {
    const { method: wanted, path: pattern } = this.rule;
    if (this.remaining <= 0 || (wanted !== undefined && wanted !== method)) return false;
    return pattern === undefined || matchesPath(pattern, path);
  }

  take(): MatchedFault {
    this.remaining -= 1;
    this.hits += 1;
    return { rule: this.rule, hold: (abort) => this.hold(abort) };
  }

  remove(): void {
    this.detach(this);
    this.release();
  }

  release(): void {
    this.releaser.abort();
    this.releaser = new AbortController();
  }

  private async hold(abort: AbortSignal): Promise<HoldOutcome> {
    this.held += 1;
    try {
      const ms = this.rule.kind === 'timeout' ? this.rule.holdMs : undefined;
      return await hold({ abort, release: this.releaser.signal, ...(ms === undefined ? {} : { ms }) });
    } finally {
      this.held -= 1;
    }
  }
}

export class FaultInjector {
  private entries: FaultEntry[] = [];

  add(rule: FaultRule): FaultHandle {
    const entry = new FaultEntry(rule, (removed) => {
      this.entries = this.entries.filter((candidate) => candidate !== removed);
    });
    this.entries.push(entry);
    return entry;
  }

  /** Removes every rule (releasing whatever they hold). */
  clear(): void {
    for (const entry of [...this.entries]) entry.remove();
  }

  /** The first rule matching the request, which spends one of its `times`. */
  take(method: string, path: string): MatchedFault | undefined {
    return this.entries.find((entry) => entry.matches(method, path))?.take();
  }
}
