import type { Pool } from '../db/pool.js';
import { scrubSecrets, type Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import {
  claimDueNotifications,
  markNotificationDelivered,
  recordFailedAttempt,
  type ClaimedNotification,
  type FailedAttempt,
} from './outbox.js';
import { notificationSigner, type NotificationSigner } from './signing.js';
import { createWakeablePause } from '../runtime/wakeable-pause.js';

/**
 * How a notification is retried: `maxAttempts` attempts in all, the wait after the n-th failure
 * `min(maxMs, initialMs · 2^(n−1))`, each wait jittered by ±`jitter` (so a recovering endpoint is not hit by every
 * row at once). The default — 45 attempts, 10 s doubling to 2 h — spreads them over about 3 days, like Stripe's
 * own webhook retries: an endpoint down for a day loses nothing.
 */
export interface NotificationRetryPolicy {
  maxAttempts: number;
  initialMs: number;
  maxMs: number;
  /** 0 … 1: each wait is multiplied by a random factor in [1 − jitter, 1 + jitter]. */
  jitter: number;
}

export const DEFAULT_NOTIFICATION_RETRY_POLICY: NotificationRetryPolicy = { maxAttempts: 45, initialMs: 10_000, maxMs: 2 * 3_600_000, jitter: 0.2 };

/** The wait (before jitter) after the `failures`-th failed attempt (1-based). */
export const baseRetryDelayMs = (failures: number, p: Pick<NotificationRetryPolicy, 'initialMs' | 'maxMs'>): number =>
  Math.min(p.maxMs, p.initialMs * 2 ** Math.min(Math.max(failures - 1, 0), 40));

/** How long a notification is retried before it is dead, without jitter: the sum of the waits between its attempts. */
export function retryHorizonMs(p: NotificationRetryPolicy): number {
  let total = 0;
  for (let failures = 1; failures < p.maxAttempts; failures++) total += baseRetryDelayMs(failures, p);
  return total;
}

/**
 * `Retry-After` as milliseconds (delta-seconds or an HTTP date), or null when absent or unreadable. An endpoint
 * that asks for more time gets it (up to the policy's longest wait); one that asks for less waits our backoff.
 */
export function parseRetryAfterMs(header: string | null, now = Date.now()): number | null {
  if (!header) return null;
  const value = header.trim();
  if (/^\d{1,9}$/.test(value)) return Number(value) * 1_000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** Where notifications go, fit for a log line: scheme, host and path — never credentials or a query string. */
export function describeEndpoint(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}`;
}

export interface NotificationDelivererOptions {
  pool: Pool;
  /** NOTIFICATION_WEBHOOK_URL. */
  url: string;
  /** NOTIFICATION_WEBHOOK_SECRET (`whsec_…`). */
  secret: string;
  logger: Logger;
  metrics?: Metrics;
  /** NOTIFICATION_TIMEOUT_MS: one POST, connect to last byte. Default 10 s. */
  timeoutMs?: number;
  retry?: Partial<NotificationRetryPolicy>;
  /** Rows claimed (and POSTed concurrently) per round. Default 20. */
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

export interface NotificationDeliverer {
  /** Something was enqueued or replayed: run a round now. */
  wake(): void;
  /** Lets the POSTs in flight finish (each bounded by the timeout), then stops. */
  stop(): Promise<void>;
}

type AttemptResult = { ok: true; statusCode: number } | { ok: false; failure: FailedAttempt; reason: string };

const RESPONSE_SNIPPET_BYTES = 300;

/** The first bytes of an answer's body, for `last_error` (scrubbed; the rest is dropped unread). */
async function bodySnippet(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < RESPONSE_SNIPPET_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    // a body cut short tells nothing more
  } finally {
    await reader.cancel().catch(() => {});
  }
  return scrubSecrets(Buffer.concat(chunks).toString('utf8').slice(0, RESPONSE_SNIPPET_BYTES).replace(/\s+/g, ' ').trim());
}

/**
 * Delivers the outbox, in the worker process: each round claims up to `batchSize` due rows (SKIP LOCKED + a lease,
 * so any number of workers share the work), POSTs each to the endpoint — the stored body, signed per Standard
 * Webhooks with a fresh `webhook-timestamp` and the row's id as `webhook-id` — and records the answer. 2xx →
 * delivered. 410 Gone → dead at once. Anything else (another status, a redirect, a timeout, no connection) → the
 * row waits its own backoff (`Retry-After` honoured) and is dead after `maxAttempts`. At least once: a deliverer that
 * dies between the POST and the record sends the row again after the lease; receivers drop the copy by `webhook-id`.
 */
export function startNotificationDeliverer(opts: NotificationDelivererOptions): NotificationDeliverer {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const retry: NotificationRetryPolicy = { ...DEFAULT_NOTIFICATION_RETRY_POLICY, ...opts.retry };
  const batchSize = opts.batchSize ?? 20;
  const pollIntervalMs = opts.pollIntervalMs ?? 1_000;
  const leaseSeconds = opts.leaseSeconds ?? Math.max(60, Math.ceil((3 * timeoutMs) / 1_000));
  const backoff = opts.backoff ?? { initialMs: 250, maxMs: 10_000 };
  const random = opts.random ?? Math.random;
  const sign: NotificationSigner = notificationSigner(opts.secret);
  const endpoint = describeEndpoint(opts.url);
  const log = opts.logger.child({ component: 'notification-deliverer', endpoint });
  const { pool, metrics } = opts;

  const sleeper = createWakeablePause();
  const pause = sleeper.pause;

  const retryInMs = (failures: number, retryAfterMs: number | null): number => {
    const jittered = baseRetryDelayMs(failures, retry) * (1 - retry.jitter + 2 * retry.jitter * random());
    return Math.round(Math.max(jittered, Math.min(retryAfterMs ?? 0, retry.maxMs)));
  };

  async function attempt(n: ClaimedNotification): Promise<AttemptResult> {
    const body = JSON.stringify(n.payload);
    const failures = n.attempts + 1;
    try {
      const res = await fetch(opts.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'payconfirm-notifications/1', ...sign(n.id, new Date(), body) },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (res.status >= 200 && res.status < 300) {
        await res.body?.cancel().catch(() => {});
        return { ok: true, statusCode: res.status };
      }
      const snippet = await bodySnippet(res);
      const gone = res.status === 410;
      return {
        ok: false,
        reason: `http_${Math.floor(res.status / 100)}xx`,
        failure: {
          statusCode: res.status,
          error: `HTTP ${res.status}${gone ? ' Gone: the endpoint asks for no more' : ''}${snippet ? `: ${snippet}` : ''}`,
          retryInMs: retryInMs(failures, parseRetryAfterMs(res.headers.get('retry-after'))),
          giveUp: gone,
        },
      };
    } catch (err) {
      const timedOut = (err as Error)?.name === 'TimeoutError' || (err as Error)?.name === 'AbortError';
      const cause = (err as { cause?: { message?: string } })?.cause?.message;
      const message = timedOut ? `no answer within ${timeoutMs} ms` : `${(err as Error)?.message ?? String(err)}${cause ? `: ${cause}` : ''}`;
      return {
        ok: false,
        reason: timedOut ? 'timeout' : 'network',
        failure: { statusCode: null, error: scrubSecrets(message), retryInMs: retryInMs(failures, null), giveUp: false },
      };
    }
  }

  async function deliverOne(n: ClaimedNotification): Promise<void> {
    const result = await attempt(n);
    if (result.ok) {
      if (await markNotificationDelivered(pool, n, result.statusCode)) metrics?.notificationsDelivered.inc({ type: n.type });
      log.debug({ notificationId: n.id, type: n.type, attempts: n.attempts + 1 }, 'notification delivered');
      return;
    }
    metrics?.notificationAttemptsFailed.inc({ reason: result.reason });
    const status = await recordFailedAttempt(pool, n, result.failure, retry.maxAttempts);
    const fields = { notificationId: n.id, type: n.type, attempts: n.attempts + 1, error: result.failure.error };
    if (status === 'dead') {
      metrics?.notificationsDeadLettered.inc({ type: n.type });
      log.error({ ...fields, maxAttempts: retry.maxAttempts }, 'notification dead-lettered: `payconfirm notifications list --status dead`, then `notifications replay`');
    } else if (n.attempts === 0) {
      log.warn({ ...fields, retryInMs: result.failure.retryInMs }, 'notification not accepted; retrying with backoff');
    } else {
      log.debug({ ...fields, retryInMs: result.failure.retryInMs }, 'notification not accepted again');
    }
  }

  async function round(): Promise<'more' | 'idle'> {
    sleeper.clearWake();
    const claimed = await claimDueNotifications(pool, batchSize, leaseSeconds);
    // Every POST of the round finishes before the next round (or the stop); a failed record is the round's failure.
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
        if (failures > 0) log.info({ failedRounds: failures }, 'notification deliverer recovered');
        failures = 0;
        if (result === 'idle') await pause(pollIntervalMs, true);
      } catch (err) {
        failures++;
        if (failures === 1 || failures % 20 === 0) {
          log.warn({ err: { message: scrubSecrets((err as Error).message) }, failedRounds: failures }, 'notification deliverer cannot read the outbox; backing off');
        }
        await pause(Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(failures - 1, 16)), false);
      }
    }
  }

  log.info({ maxAttempts: retry.maxAttempts, timeoutMs }, 'delivering outgoing notifications');
  const running = run();
  return {
    wake: sleeper.wake,
    async stop() {
      sleeper.stop();
      await running;
    },
  };
}
