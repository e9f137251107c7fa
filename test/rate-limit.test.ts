import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import type { Account } from '../src/db/accounts.js';
import { errorHandler } from '../src/api/error-handler.js';
import { listen, type RunningHttpServer } from '../src/api/http-server.js';
import { limitPerAccount, TokenBuckets, type RateLimit } from '../src/api/rate-limit.js';
import { locals, requestContext } from '../src/api/request-context.js';
import { createLogger } from '../src/logger.js';
import { callApi } from './support/test-api.js';

describe('TokenBuckets (pure, clock passed in)', () => {
  it('allows a burst, then refuses with the whole seconds until the next token', () => {
    const buckets = new TokenBuckets({ perMinute: 30, burst: 3 }); // one token every 2 s
    expect([0, 0, 0].map((t) => buckets.take('acct', t))).toEqual(Array(3).fill({ allowed: true }));
    expect(buckets.take('acct', 0)).toEqual({ allowed: false, retryAfterSeconds: 2 });
    expect(buckets.take('acct', 999)).toEqual({ allowed: false, retryAfterSeconds: 2 });
    expect(buckets.take('acct', 1_000)).toEqual({ allowed: false, retryAfterSeconds: 1 });
    expect(buckets.take('acct', 1_999)).toEqual({ allowed: false, retryAfterSeconds: 1 });
    expect(buckets.take('acct', 2_000)).toEqual({ allowed: true });
    expect(buckets.take('acct', 2_000)).toEqual({ allowed: false, retryAfterSeconds: 2 });
  });

  it('waiting the Retry-After it gave is always enough for one request', () => {
    const buckets = new TokenBuckets({ perMinute: 7, burst: 1 });
    let now = 0;
    expect(buckets.take('acct', now)).toEqual({ allowed: true });
    for (let i = 0; i < 20; i++) {
      now += 137; // land at odd fractions of a token
      const refused = buckets.take('acct', now);
      if (refused.allowed) continue;
      expect(buckets.take('acct', now + refused.retryAfterSeconds * 1_000)).toEqual({ allowed: true });
      now += refused.retryAfterSeconds * 1_000;
    }
  });

  it('defaults the burst to the per-minute limit and never refills past it', () => {
    const buckets = new TokenBuckets({ perMinute: 5 });
    const burst = Array.from({ length: 6 }, () => buckets.take('acct', 0).allowed);
    expect(burst).toEqual([true, true, true, true, true, false]);
    const afterAnHour = Array.from({ length: 6 }, () => buckets.take('acct', 3_600_000).allowed);
    expect(afterAnHour).toEqual([true, true, true, true, true, false]);
  });

  it('keeps one bucket per key', () => {
    const buckets = new TokenBuckets({ perMinute: 60, burst: 1 });
    expect(buckets.take('a', 0).allowed).toBe(true);
    expect(buckets.take('a', 0).allowed).toBe(false);
    expect(buckets.take('b', 0).allowed).toBe(true);
  });

  it('a clock that steps back mints no tokens', () => {
    const buckets = new TokenBuckets({ perMinute: 60, burst: 1 });
    expect(buckets.take('a', 10_000).allowed).toBe(true);
    expect(buckets.take('a', 5_000)).toEqual({ allowed: false, retryAfterSeconds: 1 });
    expect(buckets.take('a', 10_500).allowed).toBe(false);
    expect(buckets.take('a', 11_000).allowed).toBe(true);
  });

  it('forgets full buckets once it tracks many keys (memory stays bounded)', () => {
    const buckets = new TokenBuckets({ perMinute: 60, burst: 1 });
    for (let i = 0; i < 10_000; i++) buckets.take(`acct-${i}`, 0);
    expect(buckets.size).toBe(10_000);
    buckets.take('late', 500); // nobody has refilled yet: nothing to forget
    expect(buckets.size).toBe(10_001);
    buckets.take('later', 60_000); // every bucket is full again
    expect(buckets.size).toBe(1);
  });

  it('rejects limits that make no sense', () => {
    expect(() => new TokenBuckets({ perMinute: 0 })).toThrow(RangeError);
    expect(() => new TokenBuckets({ perMinute: Number.NaN })).toThrow(RangeError);
    expect(() => new TokenBuckets({ perMinute: 10, burst: 0.5 })).toThrow(RangeError);
  });
});

describe('limitPerAccount middleware', () => {
  let server: RunningHttpServer | undefined;
  afterEach(async () => {
    await server?.close(100);
    server = undefined;
  });

  /** An app with the real request context and error handler; the account comes from an X-Account header. */
  async function appWith(limit: RateLimit, now: () => number): Promise<string> {
    const app = express();
    app.use(requestContext(createLogger({ level: 'silent' })));
    app.use((req, res, next) => {
      locals(res).account = { id: req.header('x-account') ?? 'none' } as Account;
      next();
    });
    app.post('/limited', limitPerAccount(limit, now), (_req, res) => {
      res.json({ ok: true });
    });
    app.use(errorHandler);
    server = await listen(app, 0, '127.0.0.1');
    return server.url;
  }

  const post = (url: string, account: string) => callApi(url, 'POST', '/limited', { headers: { 'x-account': account } });

  it('answers 429 rate_limited with Retry-After once the account is over its limit', async () => {
    let now = 0;
    const url = await appWith({ perMinute: 30, burst: 2 }, () => now);
    expect((await post(url, 'a')).status).toBe(200);
    expect((await post(url, 'a')).status).toBe(200);
    const limited = await post(url, 'a');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2');
    expect(limited.body).toEqual({
      error: { code: 'rate_limited', message: expect.stringContaining('retry in 2 s'), request_id: expect.any(String) },
    });
    expect((await post(url, 'b')).status).toBe(200);
    now = 2_000;
    expect((await post(url, 'a')).status).toBe(200);
  });

  it('lets everything through when the limit is 0', async () => {
    const url = await appWith({ perMinute: 0 }, () => 0);
    const statuses = await Promise.all(Array.from({ length: 20 }, () => post(url, 'a').then((r) => r.status)));
    expect(statuses).toEqual(Array(20).fill(200));
  });
});
