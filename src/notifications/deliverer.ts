import type { Pool } from '../db/pool.js';
import { scrubSecrets, type Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { NOTIFICATIONS, type ClaimedNotification } from './outbox.js';
import {
  baseRetryDelayMs,
  DEFAULT_OUTBOX_RETRY_POLICY,
  retryHorizonMs,
  startOutboxDeliverer,
  type OutboxAttemptResult,
  type OutboxRetryPolicy,
  loopTuningOf,
  type OutboxLoopTuning,
} from './outbox-deliverer.js';
import { notificationSigner, type NotificationSigner } from './signing.js';

/** How a notification is retried (outbox-deliverer.ts): 45 attempts, 10 s doubling to 2 h, ±20 % — about 3 days. */
export type NotificationRetryPolicy = OutboxRetryPolicy;
export const DEFAULT_NOTIFICATION_RETRY_POLICY: NotificationRetryPolicy = DEFAULT_OUTBOX_RETRY_POLICY;
export { baseRetryDelayMs, retryHorizonMs };

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

export interface NotificationDelivererOptions extends OutboxLoopTuning {
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
}

export interface NotificationDeliverer {
  /** Something was enqueued or replayed: run a round now. */
  wake(): void;
  /** Lets the POSTs in flight finish (each bounded by the timeout), then stops. */
  stop(): Promise<void>;
}

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
  const sign: NotificationSigner = notificationSigner(opts.secret);
  const endpoint = describeEndpoint(opts.url);
  const { metrics } = opts;

  async function attempt(n: ClaimedNotification): Promise<OutboxAttemptResult> {
    const body = JSON.stringify(n.payload);
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
        statusCode: res.status,
        error: `HTTP ${res.status}${gone ? ' Gone: the endpoint asks for no more' : ''}${snippet ? `: ${snippet}` : ''}`,
        retryAfterMs: parseRetryAfterMs(res.headers.get('retry-after')),
        giveUp: gone,
      };
    } catch (err) {
      const timedOut = (err as Error)?.name === 'TimeoutError' || (err as Error)?.name === 'AbortError';
      const cause = (err as { cause?: { message?: string } })?.cause?.message;
      const message = timedOut ? `no answer within ${timeoutMs} ms` : `${(err as Error)?.message ?? String(err)}${cause ? `: ${cause}` : ''}`;
      return { ok: false, reason: timedOut ? 'timeout' : 'network', statusCode: null, error: scrubSecrets(message), retryAfterMs: null, giveUp: false };
    }
  }

  return startOutboxDeliverer({
    pool: opts.pool,
    table: NOTIFICATIONS,
    attempt,
    logger: opts.logger.child({ component: 'notification-deliverer', endpoint }),
    noun: 'notification',
    idField: 'notificationId',
    startMessage: 'delivering outgoing notifications',
    deadLetterHint: '`payconfirm notifications list --status dead`, then `notifications replay`',
    timeoutMs,
    retry,
    ...loopTuningOf(opts),
    onDone: (n) => metrics?.notificationsDelivered.inc({ type: n.type }),
    onFailedAttempt: (reason) => metrics?.notificationAttemptsFailed.inc({ reason }),
    onDead: (n) => metrics?.notificationsDeadLettered.inc({ type: n.type }),
  });
}
