

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

export const asStripeError = (err: unknown): StripeLikeError | null =>
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
