import type { NextFunction, Request, Response } from 'express';
import { HttpError } from './http-errors.js';
import { locals } from './request-context.js';

/** A per-key request budget: `perMinute` tokens refill evenly; a full bucket holds `burst` (default `perMinute`). */
export interface RateLimit {
  /** 0 disables the limit. */
  perMinute: number;
  burst?: number;
}

export type TakeResult = { allowed: true } | { allowed: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  updatedAtMs: number;
}

/** Buckets beyond this many trigger a sweep of the full ones (a full bucket is the same as no bucket). */
const SWEEP_THRESHOLD = 10_000;

/**
 * Token buckets keyed by a string (an account id), in memory: each API replica keeps its own, so the
 * effective limit across the fleet is `replicas × perMinute`. Pure: the caller passes the clock.
 */
export class TokenBuckets {
  readonly #refillPerMs: number;
  readonly #capacity: number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(limit: { perMinute: number; burst?: number }) {
    if (!(limit.perMinute > 0)) throw new RangeError(`perMinute must be > 0, got ${limit.perMinute}`);
    const capacity = limit.burst ?? limit.perMinute;
    if (!(capacity >= 1)) throw new RangeError(`burst must be >= 1, got ${capacity}`);
    this.#refillPerMs = limit.perMinute / 60_000;
    this.#capacity = capacity;
  }

  /** Spends one token of `key` if it has one; otherwise says how many whole seconds until it will. */
  take(key: string, nowMs: number): TakeResult {
    if (this.#buckets.size >= SWEEP_THRESHOLD) this.#sweepFull(nowMs);
    const bucket = this.#buckets.get(key) ?? { tokens: this.#capacity, updatedAtMs: nowMs };
    bucket.tokens = this.#tokensAt(bucket, nowMs);
    bucket.updatedAtMs = Math.max(bucket.updatedAtMs, nowMs);
    this.#buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    const waitMs = (1 - bucket.tokens) / this.#refillPerMs;
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
  }

  /** How many keys are tracked (for tests of the sweep). */
  get size(): number {
    return this.#buckets.size;
  }

  #tokensAt(bucket: Bucket, nowMs: number): number {
    const elapsedMs = Math.max(0, nowMs - bucket.updatedAtMs);
    return Math.min(this.#capacity, bucket.tokens + elapsedMs * this.#refillPerMs);
  }

  #sweepFull(nowMs: number): void {
    for (const [key, bucket] of this.#buckets) {
      if (this.#tokensAt(bucket, nowMs) >= this.#capacity) this.#buckets.delete(key);
    }
  }
}

export const rateLimited = (retryAfterSeconds: number): HttpError =>
  new HttpError(429, 'rate_limited', `too many requests for this account; retry in ${retryAfterSeconds} s`, {
    'Retry-After': String(retryAfterSeconds),
  });

/**
 * Express middleware limiting an authenticated account (mount after `authenticate`): over the limit it
 * answers 429 `rate_limited` with `Retry-After`. A limit of 0 lets everything through.
 */
export function limitPerAccount(limit: RateLimit, now: () => number = () => performance.now()) {
  const buckets = limit.perMinute > 0 ? new TokenBuckets(limit) : null;
  return (_req: Request, res: Response, next: NextFunction): void => {
    const account = locals(res).account;
    if (!account) throw new Error('limitPerAccount must run after authenticate');
    const taken = buckets?.take(account.id, now()) ?? { allowed: true };
    if (!taken.allowed) throw rateLimited(taken.retryAfterSeconds);
    next();
  };
}
