import type { Pool } from '../db/pool.js';
import { scrubSecrets, type Logger } from '../logger.js';
import { createWakeablePause } from '../runtime/wakeable-pause.js';
import { claimDueRows, markRowDone, recordFailedRowAttempt, type ClaimedRow, type OutboxTable } from './outbox-rows.js';
import { backoffMs } from '../runtime/backoff.js';

/**
 * How an outbox row is retried: `maxAttempts` attempts in all, the wait after the n-th failure
 * `min(maxMs, initialMs · 2^(n−1))`, each wait jittered by ±`jitter` (so a recovering receiver is not hit by every
 * row at once). The default — 45 attempts, 10 s doubling to 2 h — spreads them over about 3 days, like Stripe's
 * own webhook retries: a receiver down for a day loses nothing.
 */
export interface OutboxRetryPolicy {
  maxAttempts: number;
  initialMs: number;
  maxMs: number;
  /** 0 … 1: each wait is multiplied by a random factor in [1 − jitter, 1 + jitter]. */
  jitter: number;
}

export const DEFAULT_OUTBOX_RETRY_POLICY: OutboxRetryPolicy = { maxAttempts: 45, initialMs: 10_000, maxMs: 2 * 3_600_000, jitter: 0.2 };

/** The wait (before jitter) after the `failures`-th failed attempt (1-based). */
export const baseRetryDelayMs = (failures: number, p: Pick<OutboxRetryPolicy, 'initialMs' | 'maxMs'>): number => backoffMs(failures, p);

/** How long a row is retried before it is dead, without jitter: the sum of the waits between its attempts. */
export function retryHorizonMs(p: OutboxRetryPolicy): number {
  let total = 0;
  for (let failures = 1; failures < p.maxAttempts; failures++) total += baseRetryDelayMs(failures, p);
  return total;
}

/** One attempt's outcome, as the channel (HTTP, SMTP) saw it. */
export type OutboxAttemptResult =
  | { ok: true; statusCode: number }
  | {
      ok: false;
      /** The metric label of the failure (`http_5xx`, `smtp_4xx`, `timeout`, `network`…). */
      reason: string;
      statusCode: number | null;
      error: string;
      /** The receiver asked to wait this long (Retry-After), or null. */
      retryAfterMs: number | null;
      /** Dead at once (410 Gone, a permanent SMTP refusal). */
      giveUp: boolean;
    };

/** How an outbox loop polls (every deliverer's own options carry these; the defaults suit production). */
export interface OutboxLoopTuning {
  /** Rows claimed (and sent concurrently) per round. Default 20. */
  batchSize?: number;
  /** With nothing due, look again this often. Default 1 s. */
  pollIntervalMs?: number;
  /** How long a claim holds a row; must exceed the timeout. Default max(60 s, 3 × timeout). */
  leaseSeconds?: number;
  /** While Postgres fails: wait initialMs doubling to maxMs between rounds. */
  backoff?: { initialMs: number; maxMs: number };
  /** For tests: the random source of the jitter. */
  random?: () => number;
}

/** The loop tuning a deliverer's options set (undefined ones left to the defaults). */
export const loopTuningOf = (o: OutboxLoopTuning): OutboxLoopTuning =>
  Object.fromEntries(
    (['batchSize', 'pollIntervalMs', 'leaseSeconds', 'backoff', 'random'] as const).filter((k) => o[k] !== undefined).map((k) => [k, o[k]]),
  ) as OutboxLoopTuning;

export interface OutboxDelivererOptions extends OutboxLoopTuning {
  pool: Pool;
  table: OutboxTable;
  /** Sends one claimed row; must not throw (a failure is a result). Bounded in time by the channel's own timeout. */
  attempt(row: ClaimedRow): Promise<OutboxAttemptResult>;
  logger: Logger;
  /** The row's name in log lines: `notification`, `e-mail receipt`. */
  noun: string;
  /** Field name of the row's id in log lines (`notificationId`). */
  idField: string;
  /** The log line when the deliverer starts. */
  startMessage: string;
  /** Appended to the dead-letter log line: what an operator does next. */
  deadLetterHint: string;
  /** Attempt length bound (for the default lease). */
  timeoutMs: number;
  retry: OutboxRetryPolicy;
  onDone?(row: ClaimedRow): void;
  onFailedAttempt?(reason: string): void;
  onDead?(row: ClaimedRow): void;
}

export interface OutboxDeliverer {
  /** Something was enqueued or replayed: run a round now. */
  wake(): void;
  /** Lets the attempts in flight finish (each bounded by the timeout), then stops. */
  stop(): Promise<void>;
}

/**
 * The delivery loop every outbox shares: each round claims up to `batchSize` due rows (SKIP LOCKED + a lease, so
 * any number of workers share the work), tries each concurrently, and records the outcome: done; or the row waits its
 * own backoff (a receiver's Retry-After honoured) and is dead after `maxAttempts` or at once on `giveUp`. At least
 * once: a deliverer that dies between the attempt and the record tries the row again after the lease.
 */
export function startOutboxDeliverer(opts: OutboxDelivererOptions): OutboxDeliverer {
  const { pool, table, retry, noun, idField } = opts;
  const batchSize = opts.batchSize ?? 20;
  const pollIntervalMs = opts.pollIntervalMs ?? 1_000;
  const leaseSeconds = opts.leaseSeconds ?? Math.max(60, Math.ceil((3 * opts.timeoutMs) / 1_000));
  const backoff = opts.backoff ?? { initialMs: 250, maxMs: 10_000 };
  const random = opts.random ?? Math.random;
  const log = opts.logger;
  const sleeper = createWakeablePause();
  const pause = sleeper.pause;

  const retryInMs = (failures: number, retryAfterMs: number | null): number => {
    const jittered = baseRetryDelayMs(failures, retry) * (1 - retry.jitter + 2 * retry.jitter * random());
    return Math.round(Math.max(jittered, Math.min(retryAfterMs ?? 0, retry.maxMs)));
  };

  async function deliverOne(row: ClaimedRow): Promise<void> {
    const result = await opts.attempt(row);
    if (result.ok) {
      if (await markRowDone(pool, table, row, result.statusCode)) opts.onDone?.(row);
      log.debug({ [idField]: row.id, type: row.type, attempts: row.attempts + 1 }, `${noun} ${table.doneStatus}`);
      return;
    }
    opts.onFailedAttempt?.(result.reason);
    const failure = { statusCode: result.statusCode, error: result.error, retryInMs: retryInMs(row.attempts + 1, result.retryAfterMs), giveUp: result.giveUp };
    const status = await recordFailedRowAttempt(pool, table, row, failure, retry.maxAttempts);
    const fields = { [idField]: row.id, type: row.type, attempts: row.attempts + 1, error: result.error };
    if (status === 'dead') {
      opts.onDead?.(row);
      log.error({ ...fields, maxAttempts: retry.maxAttempts }, `${noun} dead-lettered: ${opts.deadLetterHint}`);
    } else if (row.attempts === 0) {
      log.warn({ ...fields, retryInMs: failure.retryInMs }, `${noun} not accepted; retrying with backoff`);
    } else {
      log.debug({ ...fields, retryInMs: failure.retryInMs }, `${noun} not accepted again`);
    }
  }

  async function round(): Promise<'more' | 'idle'> {
    sleeper.clearWake();
    const claimed = await claimDueRows(pool, table, batchSize, leaseSeconds);
    // Every attempt of the round finishes before the next round (or the stop); a failed record is the round's failure.
    const settled = await Promise.allSettled(claimed.map(deliverOne));
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    return claimed.length === batchSize ? 'more' : 'idle';
  }

  async function run(): Promise<void> {
    let failures = 0;
    while (!sleeper.stopping) {
      try {
        const result = await round();
        if (failures > 0) log.info({ failedRounds: failures }, `${noun} deliverer recovered`);
        failures = 0;
        if (result === 'idle') await pause(pollIntervalMs, true);
      } catch (err) {
        failures++;
        if (failures === 1 || failures % 20 === 0) {
          log.warn({ err: { message: scrubSecrets((err as Error).message) }, failedRounds: failures }, `${noun} deliverer cannot read the outbox; backing off`);
        }
        await pause(backoffMs(failures, backoff), false);
      }
    }
  }

  log.info({ maxAttempts: retry.maxAttempts, timeoutMs: opts.timeoutMs }, opts.startMessage);
  const running = run();
  return {
    wake: sleeper.wake,
    async stop() {
      sleeper.stop();
      await running;
    },
  };
}
