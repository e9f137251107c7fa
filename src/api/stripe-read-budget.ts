import { HttpError } from './http-errors.js';
import { TokenBuckets } from './rate-limit.js';

/**
 * The API's own Stripe reads (confirm's ownership read, a status read of a payment no workflow knows yet) share
 * one budget per API process, so callers can never spend the Stripe account's rate limit that the workers
 * need: over it, 429 `stripe_read_budget_exhausted` with `Retry-After`. API_STRIPE_READS_PER_SECOND; 0 disables.
 */
export interface StripeReadBudget {
  /** Spends one read, or throws the 429 to answer. */
  take(): void;
}

export function createStripeReadBudget(readsPerSecond: number, now: () => number = () => performance.now()): StripeReadBudget {
  if (readsPerSecond <= 0) return { take: () => {} };
  const buckets = new TokenBuckets({ perMinute: readsPerSecond * 60, burst: Math.max(1, readsPerSecond) });
  return {
    take() {
      const taken = buckets.take('stripe', now());
      if (!taken.allowed) {
        throw new HttpError(
          429,
          'stripe_read_budget_exhausted',
          `this API is at its budget of Stripe reads; retry in ${taken.retryAfterSeconds} s`,
          { 'Retry-After': String(taken.retryAfterSeconds) },
        );
      }
    },
  };
}
