import { HttpError } from './http-errors.js';
import { TokenBuckets, type RateLimit } from './rate-limit.js';

/**
 * The API's own Stripe reads (confirm's ownership read, a status read of a payment no workflow knows yet, a refund's
 * read of what is left) come out of two budgets: the account's share (API_STRIPE_READS_PER_ACCOUNT_PER_MINUTE), then
 * the process's (API_STRIPE_READS_PER_SECOND), so no caller can spend the Stripe rate limit the workers need, and no
 * one account can spend every other account's share: over either, 429 `stripe_read_budget_exhausted` with
 * `Retry-After`. The account's share is checked first, so a flooding account's refused reads cost the others
 * nothing. A read shared by concurrent callers (src/api/payment-lookup.ts) is taken once, by the caller who starts it.
 * A rate of 0 disables that budget.
 */
export interface StripeReadBudget {
  /** Spends one read of `accountId` and of the process, or throws the 429 to answer. */
  take(accountId: string): void;
}

const exhausted = (whose: 'account' | 'api', retryAfterSeconds: number) =>
  new HttpError(
    429,
    'stripe_read_budget_exhausted',
    whose === 'account'
      ? `this account is at its share of the API's Stripe reads; retry in ${retryAfterSeconds} s`
      : `this API is at its budget of Stripe reads; retry in ${retryAfterSeconds} s`,
    { 'Retry-After': String(retryAfterSeconds) },
  );

export function createStripeReadBudget(
  readsPerSecond: number,
  perAccount: RateLimit = { perMinute: 0 },
  now: () => number = () => performance.now(),
): StripeReadBudget {
  const processBuckets = readsPerSecond > 0 ? new TokenBuckets({ perMinute: readsPerSecond * 60, burst: Math.max(1, readsPerSecond) }) : null;
  const accountBuckets = perAccount.perMinute > 0 ? new TokenBuckets(perAccount) : null;
  return {
    take(accountId) {
      const at = now();
      const mine = accountBuckets?.take(accountId, at) ?? { allowed: true };
      if (!mine.allowed) throw exhausted('account', mine.retryAfterSeconds);
      const shared = processBuckets?.take('api', at) ?? { allowed: true };
      if (!shared.allowed) throw exhausted('api', shared.retryAfterSeconds);
    },
  };
}
