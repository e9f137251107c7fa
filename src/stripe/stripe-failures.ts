import { ApplicationFailure } from '@temporalio/common';

import { FAILURE_TYPES } from '../domain/failure-types.js';

/**
 * One place that turns a Stripe SDK error into what Temporal should do with it:
 * retry (network, 5xx, 429 — honouring Retry-After), or stop retrying with a typed, non-retryable failure
 * whose `type` the workflow maps to a needs_attention reason (src/domain/failure-types.ts).
 */
interface StripeLikeError {
  type?: string;
  statusCode?: number;
  code?: string;
  message?: string;
  requestId?: string;
  headers?: Record<string, string | undefined>;
}

const asStripeError = (err: unknown): StripeLikeError | null =>
  err && typeof err === 'object' && typeof (err as StripeLikeError).type === 'string' && String((err as StripeLikeError).type).startsWith('Stripe')
    ? (err as StripeLikeError)
    : null;

/** Retry-After in ms, from the seconds form Stripe sends; null when absent or unreadable. */
export function retryAfterMs(headers: Record<string, string | undefined> | undefined): number | null {
  const raw = headers?.['retry-after'];
  if (!raw) return null;
  const seconds = Number(raw);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds, 600) * 1000 : null;
}

/** True when Stripe answered with the stored result of an earlier request under the same key. */
export const isIdempotentReplay = (err: unknown): boolean => asStripeError(err)?.headers?.['idempotent-replayed'] === 'true';

/** True for a 5xx answer (fresh or replayed): the request may or may not have been applied. */
export const isServerError = (err: unknown): boolean => (asStripeError(err)?.statusCode ?? 0) >= 500;

export const isResourceMissing = (err: unknown): boolean => {
  const e = asStripeError(err);
  return e?.statusCode === 404 || e?.code === 'resource_missing';
};

/** Converts a Stripe error into the failure the activity should throw. Non-Stripe errors pass through. */
export function toActivityFailure(err: unknown, what: string): Error {
  const e = asStripeError(err);
  if (!e) return err instanceof Error ? err : new Error(String(err));
  const message = `${what}: Stripe ${e.statusCode ?? 'no response'} ${e.type}${e.code ? ` (${e.code})` : ''}: ${e.message ?? ''}${e.requestId ? ` [${e.requestId}]` : ''}`;
  switch (e.type) {
    case 'StripeRateLimitError': {
      const delay = retryAfterMs(e.headers);
      return ApplicationFailure.create({ message, type: 'StripeRateLimited', nonRetryable: false, ...(delay !== null ? { nextRetryDelay: delay } : {}) });
    }
    case 'StripeConnectionError':
    case 'StripeAPIError':
      return ApplicationFailure.retryable(message, 'StripeUnavailable');
    case 'StripeIdempotencyError':
      return ApplicationFailure.nonRetryable(message, FAILURE_TYPES.stripeIdempotency);
    case 'StripeAuthenticationError':
    case 'StripePermissionError':
      return ApplicationFailure.nonRetryable(message, FAILURE_TYPES.stripeCredentials);
    default:
      if ((e.statusCode ?? 0) >= 500 || e.statusCode === undefined) return ApplicationFailure.retryable(message, 'StripeUnavailable');
      if (e.statusCode === 409) return ApplicationFailure.retryable(message, 'StripeConflict'); // same key still in flight
      if (isResourceMissing(err)) return ApplicationFailure.nonRetryable(message, FAILURE_TYPES.stripeResourceMissing);
      return ApplicationFailure.nonRetryable(message, FAILURE_TYPES.stripeRejected);
  }
}
