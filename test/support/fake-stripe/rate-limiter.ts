/**
 * Stripe's rate limiter, as its rate-limits page describes it: a limit for the account as a whole and one for each
 * operation (method + path template: `GET /v1/payment_intents/:id` for every PaymentIntent id), each held over a
 * sliding one-second window. A request that would make either window exceed its limit is refused (429
 * `rate_limit_error`, Retry-After 1) and does not count; an accepted one counts in both.
 */
export interface RateLimits {
  accountPerSecond: number;
  operationPerSecond: number;
}

const WINDOW_MS = 1_000;

export class RateLimiter {
  private readonly account: number[] = [];
  private readonly operations = new Map<string, number[]>();

  constructor(private readonly limits: RateLimits) {}

  /** True when a request of `operation` arriving at `at` (ms) is within both limits; it then counts. */
  admit(operation: string, at: number): boolean {
    const mine = this.operations.get(operation) ?? [];
    this.operations.set(operation, mine);
    expire(this.account, at);
    expire(mine, at);
    if (this.account.length >= this.limits.accountPerSecond || mine.length >= this.limits.operationPerSecond) return false;
    this.account.push(at);
    mine.push(at);
    return true;
  }
}

/** Drops arrivals older than one window before `at` (arrival order: the oldest first). */
function expire(arrivals: number[], at: number): void {
  let old = 0;
  while (old < arrivals.length && arrivals[old]! <= at - WINDOW_MS) old++;
  arrivals.splice(0, old);
}
