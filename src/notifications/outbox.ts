import type { Pool, PoolClient } from '../db/pool.js';
import type { ClaimedRow, OutboxTable } from './outbox-rows.js';

/**
 * The outbox of outgoing notifications (table `outgoing_notifications`, src/db/migrations/*_notification_outbox.sql).
 * Ledger movements enqueue by trigger; anything else calls `enqueueNotification` inside its own transaction.
 * The deliverer (deliverer.ts, on the shared loop of outbox-deliverer.ts) claims due rows, the CLI lists and replays them.
 */
export type NotificationStatus = 'pending' | 'delivered' | 'dead';

export const NOTIFICATION_STATUSES: readonly NotificationStatus[] = ['pending', 'delivered', 'dead'];

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

export type ClaimedNotification = ClaimedRow;

/** The table's row lifecycle (claim, record) is shared with the e-mail outbox: outbox-rows.ts, outbox-deliverer.ts. */
export const NOTIFICATIONS: OutboxTable = { name: 'outgoing_notifications', doneStatus: 'delivered', doneAtColumn: 'delivered_at' };

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
