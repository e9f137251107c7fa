import type { Pool, PoolClient } from '../db/pool.js';

/**
 * The outbox of outgoing notifications (table `outgoing_notifications`, src/db/migrations/*_notification_outbox.sql).
 * Ledger movements enqueue by trigger; anything else calls `enqueueNotification` inside its own transaction.
 * The deliverer (deliverer.ts) claims due rows, the CLI lists and replays them.
 */
export type NotificationStatus = 'pending' | 'delivered' | 'dead';

export const NOTIFICATION_STATUSES: readonly NotificationStatus[] = ['pending', 'delivered', 'dead'];

/** A notification's id is its `webhook-id`: printable ASCII, 1–255 characters (the table's CHECK). */
export const NOTIFICATION_ID = /^[!-~]{1,255}$/;

export interface OutgoingNotification {
  id: string;
  seq: number;
  type: string;
  payload: unknown;
  status: NotificationStatus;
  attempts: number;
  nextAttemptAt: Date;
  lastAttemptAt: Date | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: Date;
  deliveredAt: Date | null;
  deadAt: Date | null;
  replayCount: number;
  replayedAt: Date | null;
}

type Queryable = Pool | PoolClient;

/**
 * Enqueues a notification in the caller's transaction (pass the transaction's client): it commits or rolls back
 * with the change it tells about. `payload` is the body to send, in the Standard Webhooks shape
 * `{type, timestamp, data}`; it must hold no secret. The same id again changes nothing (false).
 */
export async function enqueueNotification(db: Queryable, n: { id: string; type: string; payload: unknown }): Promise<boolean> {
  const { rows } = await db.query<{ enqueued: boolean }>('SELECT enqueue_outgoing_notification($1, $2, $3::jsonb) AS enqueued', [
    n.id,
    n.type,
    JSON.stringify(n.payload),
  ]);
  return rows[0]!.enqueued;
}

export interface ClaimedNotification {
  id: string;
  type: string;
  payload: unknown;
  /** Attempts made before this one. */
  attempts: number;
  leaseToken: string;
}

/**
 * Claims up to `limit` due pending rows, oldest first, for `leaseSeconds` (FOR UPDATE SKIP LOCKED: deliverers in
 * several workers take disjoint rows; no transaction stays open during the POST). A deliverer that dies mid-round
 * leaves claims that expire and are taken again — at least once, never lost.
 */
export async function claimDueNotifications(pool: Pool, limit: number, leaseSeconds: number): Promise<ClaimedNotification[]> {
  const { rows } = await pool.query<{ id: string; type: string; payload: unknown; attempts: number; lease_token: string }>(
    `UPDATE outgoing_notifications SET lease_until = now() + make_interval(secs => $2), lease_token = gen_random_uuid()
     WHERE id IN (
       SELECT id FROM outgoing_notifications
       WHERE status = 'pending' AND next_attempt_at <= now() AND (lease_until IS NULL OR lease_until < now())
       ORDER BY next_attempt_at, seq
       LIMIT $1
       FOR UPDATE SKIP LOCKED)
     RETURNING id, type, payload, attempts, lease_token`,
    [limit, leaseSeconds],
  );
  return rows.map((r) => ({ id: r.id, type: r.type, payload: r.payload, attempts: r.attempts, leaseToken: r.lease_token }));
}

/** The endpoint answered 2xx. False when the claim was lost meanwhile (expired and taken by another deliverer). */
export async function markNotificationDelivered(pool: Pool, c: ClaimedNotification, statusCode: number): Promise<boolean> {
  const { rowCount } = await pool.query(
    `UPDATE outgoing_notifications
     SET status = 'delivered', attempts = attempts + 1, delivered_at = now(), last_attempt_at = now(), last_status_code = $3,
         last_error = NULL, lease_until = NULL, lease_token = NULL
     WHERE id = $1 AND lease_token = $2 AND status = 'pending'`,
    [c.id, c.leaseToken, statusCode],
  );
  return rowCount === 1;
}

export interface FailedAttempt {
  /** The HTTP status, or null when no answer came (network error, timeout). */
  statusCode: number | null;
  error: string;
  /** When to try again, if attempts remain. */
  retryInMs: number;
  /** Dead at once, whatever the attempts left (the endpoint answered 410 Gone). */
  giveUp: boolean;
}

/**
 * An attempt failed: counts it, and either schedules the next (`retryInMs`) or — at `maxAttempts`, or `giveUp` —
 * makes the row `dead`. Returns the row's new status, or null when the claim was lost meanwhile.
 */
export async function recordFailedAttempt(
  pool: Pool,
  c: ClaimedNotification,
  failure: FailedAttempt,
  maxAttempts: number,
): Promise<'pending' | 'dead' | null> {
  const { rows } = await pool.query<{ status: 'pending' | 'dead' }>(
    `UPDATE outgoing_notifications n
     SET attempts = n.attempts + 1, last_attempt_at = now(), last_status_code = $3, last_error = $4,
         lease_until = NULL, lease_token = NULL,
         status = CASE WHEN $6 OR n.attempts + 1 >= $7 THEN 'dead' ELSE 'pending' END,
         dead_at = CASE WHEN $6 OR n.attempts + 1 >= $7 THEN now() ELSE NULL END,
         next_attempt_at = CASE WHEN $6 OR n.attempts + 1 >= $7 THEN n.next_attempt_at ELSE now() + make_interval(secs => $5::float8 / 1000) END
     WHERE n.id = $1 AND n.lease_token = $2 AND n.status = 'pending'
     RETURNING n.status`,
    [c.id, c.leaseToken, failure.statusCode, failure.error.slice(0, 2_000), failure.retryInMs, failure.giveUp, maxAttempts],
  );
  return rows[0]?.status ?? null;
}

interface NotificationRow {
  id: string;
  seq: number;
  type: string;
  payload: unknown;
  status: NotificationStatus;
  attempts: number;
  next_attempt_at: Date;
  last_attempt_at: Date | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: Date;
  delivered_at: Date | null;
  dead_at: Date | null;
  replay_count: number;
  replayed_at: Date | null;
}

const COLUMNS =
  'id, seq, type, payload, status, attempts, next_attempt_at, last_attempt_at, last_status_code, last_error, created_at, delivered_at, dead_at, replay_count, replayed_at';

const toNotification = (r: NotificationRow): OutgoingNotification => ({
  id: r.id,
  seq: r.seq,
  type: r.type,
  payload: r.payload,
  status: r.status,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  lastAttemptAt: r.last_attempt_at,
  lastStatusCode: r.last_status_code,
  lastError: r.last_error,
  createdAt: r.created_at,
  deliveredAt: r.delivered_at,
  deadAt: r.dead_at,
  replayCount: r.replay_count,
  replayedAt: r.replayed_at,
});

export async function findNotification(pool: Pool, id: string): Promise<OutgoingNotification | null> {
  const { rows } = await pool.query<NotificationRow>(`SELECT ${COLUMNS} FROM outgoing_notifications WHERE id = $1`, [id]);
  return rows[0] ? toNotification(rows[0]) : null;
}

/** Notifications, newest first, filtered by status, type (exact, or a prefix ending in `*`) and creation time. */
export async function listNotifications(
  pool: Pool,
  filter: { status?: NotificationStatus; type?: string; since?: Date; limit: number },
): Promise<OutgoingNotification[]> {
  const escape = (s: string) => s.replace(/[%_\\]/g, '\\$&');
  const type = filter.type === undefined ? null : filter.type.endsWith('*') ? `${escape(filter.type.slice(0, -1))}%` : escape(filter.type);
  const { rows } = await pool.query<NotificationRow>(
    `SELECT ${COLUMNS} FROM outgoing_notifications
     WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR type LIKE $2) AND ($3::timestamptz IS NULL OR created_at >= $3)
     ORDER BY seq DESC LIMIT $4`,
    [filter.status ?? null, type, filter.since ?? null, filter.limit],
  );
  return rows.map(toNotification);
}

/**
 * An operator replays a notification that is `dead` (or `delivered`, to send it again): it becomes `pending`, due
 * now, with a fresh attempt budget, and counts the replay. The same `webhook-id` goes out, so a receiver that had it
 * drops the copy. Returns the status it had, or null when there is no such row or it is pending already.
 */
export async function replayNotification(pool: Pool, id: string): Promise<NotificationStatus | null> {
  const { rows } = await pool.query<{ status: NotificationStatus }>(
    `UPDATE outgoing_notifications n
     SET status = 'pending', attempts = 0, next_attempt_at = now(), lease_until = NULL, lease_token = NULL,
         delivered_at = NULL, dead_at = NULL, replay_count = n.replay_count + 1, replayed_at = now()
     FROM (SELECT id, status FROM outgoing_notifications WHERE id = $1 FOR UPDATE) before
     WHERE n.id = before.id AND before.status <> 'pending'
     RETURNING before.status`,
    [id],
  );
  return rows[0]?.status ?? null;
}
