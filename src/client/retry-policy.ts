/** When and how long to wait before retrying. Pure functions only. */

export interface RetryPolicy {
  /** Total HTTP attempts per request, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = {
  maxAttempts: 5,
  baseDelayMs: 250,
  maxDelayMs: 10_000,
};

export function resolveRetryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  const policy = { ...DEFAULT_RETRY_POLICY, ...overrides };
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1) {
    throw new RangeError(`retry.maxAttempts must be an integer >= 1, got ${policy.maxAttempts}`);
  }
  if (!(policy.baseDelayMs >= 0) || !(policy.maxDelayMs >= 0)) {
    throw new RangeError('retry.baseDelayMs and retry.maxDelayMs must be >= 0');
  }
  return policy;
}

/** 429 and every 5xx are transient; every other status is final. */
export function isRetryableStatus(httpStatus: number): boolean {
  return httpStatus === 429 || httpStatus >= 500;
}

/**
 * Exponential backoff with full jitter: `random() * min(maxDelay, base * 2^failedAttempt)`,
 * raised to the server's `Retry-After` when it sent one (a lower bound, never shortened).
 * `failedAttempt` counts from 0.
 */
export function retryDelayMs(options: {
  failedAttempt: number;
  policy: RetryPolicy;
  random: () => number;
  retryAfterMs: number | null;
}): number {
  const { failedAttempt, policy, random, retryAfterMs } = options;
  const ceilingMs = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** failedAttempt);
  return Math.max(random() * ceilingMs, retryAfterMs ?? 0);
}

/**
 * Parses a `Retry-After` header: delay-seconds (`"120"`) or an HTTP-date
 * (`"Wed, 21 Oct 2015 07:28:00 GMT"`). Returns milliseconds from `nowMs`, never negative,
 * or null when the header is absent or unreadable.
 */
export function parseRetryAfterMs(headerValue: string | null, nowMs: number): number | null {
  const value = headerValue?.trim();
  if (!value) return null;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  // Every HTTP-date form names a day and a month; without letters it is no date ("-1").
  const dateMs = /[a-z]/i.test(value) ? Date.parse(value) : Number.NaN;
  return Number.isNaN(dateMs) ? null : Math.max(0, dateMs - nowMs);
}
