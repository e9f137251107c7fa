import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RETRY_POLICY,
  isRetryableStatus,
  parseRetryAfterMs,
  retryDelayMs,
} from '../../src/client/retry-policy.js';

describe('retryDelayMs', () => {
  const policy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1_000 };

  it('is full jitter over an exponentially growing, capped ceiling', () => {
    const delayFor = (failedAttempt: number, random: number) =>
      retryDelayMs({ failedAttempt, policy, random: () => random, retryAfterMs: null });

    expect(delayFor(0, 0.5)).toBe(50);
    expect(delayFor(3, 0.5)).toBe(400);
    expect(delayFor(10, 0.5)).toBe(500);
    expect(delayFor(3, 0)).toBe(0);
  });

  it('never waits less than Retry-After', () => {
    expect(retryDelayMs({ failedAttempt: 0, policy, random: () => 1, retryAfterMs: 2_000 })).toBe(2_000);
    expect(retryDelayMs({ failedAttempt: 3, policy, random: () => 1, retryAfterMs: 10 })).toBe(800);
  });
});

describe('parseRetryAfterMs', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');

  it('reads delay-seconds', () => {
    expect(parseRetryAfterMs('3', now)).toBe(3_000);
    expect(parseRetryAfterMs(' 0 ', now)).toBe(0);
  });

  it('reads an HTTP-date, never negative', () => {
    expect(parseRetryAfterMs('Wed, 01 Jan 2025 00:00:05 GMT', now)).toBe(5_000);
    expect(parseRetryAfterMs('Tue, 31 Dec 2024 23:59:00 GMT', now)).toBe(0);
  });

  it('ignores absent or unreadable values', () => {
    expect(parseRetryAfterMs(null, now)).toBeNull();
    expect(parseRetryAfterMs('', now)).toBeNull();
    expect(parseRetryAfterMs('soon', now)).toBeNull();
    expect(parseRetryAfterMs('-1', now)).toBeNull();
  });
});

describe('isRetryableStatus', () => {
  it('retries 429 and 5xx only', () => {
    expect([429, 500, 502, 503, 504].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 403, 404, 409, 422].some(isRetryableStatus)).toBe(false);
  });
});

it('defaults to 5 attempts, 250 ms base and 10 s cap', () => {
  expect(DEFAULT_RETRY_POLICY).toEqual({ maxAttempts: 5, baseDelayMs: 250, maxDelayMs: 10_000 });
});
