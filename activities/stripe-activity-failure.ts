import { ApplicationFailure } from '@temporalio/common';
import { FAILURE_TYPES } from '../src/domain/failure-types.js';
import { asStripeError, isResourceMissing, retryAfterMs } from '../src/stripe/stripe-failures.js';

/**
 * Stripe's errors as the failures an activity throws (Temporal's ApplicationFailure, its type and retry semantics):
 * the one place Stripe meets Temporal. src/stripe classifies errors and knows nothing of Temporal.
 */
/** Converts a Stripe error into the failure the activity should throw. Non-Stripe errors pass through. */
export function toActivityFailure(err: unknown, what: string): Error {
  const e = asStripeError(err);
  if (!e) return err instanceof Error ? err : new Error(String(err));
  const message = `${what}: Stripe ${e.statusCode ?? 'no response'} ${e.type}${e.code ? ` (${e.code})` : ''}: ${e.message ?? ''}${e.requestId ? ` [${e.requestId}]` : ''}`;
  switch (e.type) {
    case 'StripeRateLimitError': {
      const delay = retryAfterMs(e.headers);
      return ApplicationFailure.create({ message, type: FAILURE_TYPES.stripeRateLimited, nonRetryable: false, ...(delay !== null ? { nextRetryDelay: delay } : {}) });
    }
    case 'StripeConnectionError':
    case 'StripeAPIError':
      return ApplicationFailure.retryable(message, FAILURE_TYPES.stripeUnavailable);
    case 'StripeIdempotencyError':
      return ApplicationFailure.nonRetryable(message, FAILURE_TYPES.stripeIdempotency);
    case 'StripeAuthenticationError':
    case 'StripePermissionError':
      return ApplicationFailure.nonRetryable(message, FAILURE_TYPES.stripeCredentials);
    default:
      if ((e.statusCode ?? 0) >= 500 || e.statusCode === undefined) return ApplicationFailure.retryable(message, FAILURE_TYPES.stripeUnavailable);
      if (e.statusCode === 409) return ApplicationFailure.retryable(message, FAILURE_TYPES.stripeConflict); // same key still in flight
      if (isResourceMissing(err)) return ApplicationFailure.nonRetryable(message, FAILURE_TYPES.stripeResourceMissing);
      return ApplicationFailure.nonRetryable(message, FAILURE_TYPES.stripeRejected);
  }
}
