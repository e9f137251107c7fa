import type { Pool } from '../db/pool.js';

/**
 * The row lifecycle every outbox table shares (`outgoing_notifications`, `outgoing_emails`): `pending` rows are
 * claimed with a lease (FOR UPDATE SKIP LOCKED), tried, and become done (`delivered` / `sent`), wait their backoff, or
 * become `dead`. Each table has the columns id, seq, type, payload, status, attempts, next_attempt_at, lease_until,
 * lease_token, last_attempt_at, last_status_code, last_error, dead_at and its own done-at column.
 */
/** A row's id in every outbox table: printable ASCII, 1–255 characters (both tables' CHECK) — a movement key, a webhook-id. */
export const OUTBOX_ROW_ID = /^[!-~]{1,255}$/;

export interface OutboxTable {
  /** A trusted identifier (never user input). */
  readonly name: 'outgoing_notifications' | 'outgoing_emails';
  /** The status of a row handed over, and the column stamped then. */
  readonly doneStatus: 'delivered' | 'sent';
  readonly doneAtColumn: 'delivered_at' | 'sent_at';
}

export interface ClaimedRow {
  id: string;
  type: string;
  payload: unknown;
  /** Attempts made before this one. */
  attempts: number;
  leaseToken: string;
}

export interface FailedAttempt {
  /** The answer's status code (HTTP status, SMTP reply code), or null when no answer came (network error, timeout). */
  statusCode: number | null;
  error: string;
  /** When to try again, if attempts remain. */
  retryInMs: number;
  /** Dead at once, whatever the attempts left (the endpoint answered 410 Gone, the SMTP server a permanent 5xx). */
  giveUp: boolean;
}

/**
 * Claims up to `limit` due pending rows, oldest first, for `leaseSeconds` (FOR UPDATE SKIP LOCKED: deliverers in
 * several workers take disjoint rows; no transaction stays open during the attempt). A deliverer that dies mid-round
 * leaves claims that expire and are taken again — at least once, never lost.
 */
export async function claimDueRows(pool: Pool, table: OutboxTable, limit: number, leaseSeconds: number): Promise<ClaimedRow[]> {
  const { rows } = await pool.query<{ id: string; type: string; payload: unknown; attempts: number; lease_token: string }>(
    `UPDATE ${table.name} SET lease_until = now() + make_interval(secs => $2), lease_token = gen_random_uuid()
     WHERE id IN (
       SELECT id FROM ${table.name}
       WHERE status = 'pending' AND next_attempt_at <= now() AND (lease_until IS NULL OR lease_until < now())
       ORDER BY next_attempt_at, seq
       LIMIT $1
       FOR UPDATE SKIP LOCKED)
     RETURNING id, type, payload, attempts, lease_token`,
    [limit, leaseSeconds],
  );
  return rows.map((r) => ({ id: r.id, type: r.type, payload: r.payload, attempts: r.attempts, leaseToken: r.lease_token }));
}

/** The receiver accepted the row. False when the claim was lost meanwhile (expired and taken by another deliverer). */
export async function markRowDone(pool: Pool, table: OutboxTable, c: ClaimedRow, statusCode: number): Promise<boolean> {
  const { rowCount } = await pool.query(
    `UPDATE ${table.name}
     SET status = '${table.doneStatus}', attempts = attempts + 1, ${table.doneAtColumn} = now(), last_attempt_at = now(), last_status_code = $3,
         last_error = NULL, lease_until = NULL, lease_token = NULL
     WHERE id = $1 AND lease_token = $2 AND status = 'pending'`,
    [c.id, c.leaseToken, statusCode],
  );
  return rowCount === 1;
}

/**
 * An attempt failed: counts it, and either schedules the next (`retryInMs`) or — at `maxAttempts`, or `giveUp` —
 * makes the row `dead`. Returns the row's new status, or null when the claim was lost meanwhile.
 */
export async function recordFailedRowAttempt(
  pool: Pool,
  table: OutboxTable,
  c: ClaimedRow,
  failure: FailedAttempt,
  maxAttempts: number,
): Promise<'pending' | 'dead' | null> {
  const { rows } = await pool.query<{ status: 'pending' | 'dead' }>(
    `UPDATE ${table.name} n
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
