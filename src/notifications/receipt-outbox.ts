import type { Pool } from '../db/pool.js';
import type { ReceiptPayload, ReceiptStatus } from './email-receipts.js';

/**
 * What operators read and do with e-mail receipts (table `outgoing_emails`, written by the ledger trigger, sent by
 * the deliverer in src/notifications/email-receipts.ts): find one, list them, replay a dead or sent one. The
 * receipts' counterpart of src/notifications/outbox.ts.
 */
export const RECEIPT_STATUSES: readonly ReceiptStatus[] = ['pending', 'sent', 'dead', 'skipped'];

export interface OutgoingEmail {
  id: string;
  seq: number;
  status: ReceiptStatus;
  recipient: string | null;
  attempts: number;
  nextAttemptAt: Date;
  lastAttemptAt: Date | null;
  /** The SMTP reply code of the last attempt (250 when sent), null when no answer came. */
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: Date;
  sentAt: Date | null;
  deadAt: Date | null;
  payload: ReceiptPayload;
}

interface ReceiptRow {
  id: string;
  seq: number;
  status: ReceiptStatus;
  recipient: string | null;
  attempts: number;
  next_attempt_at: Date;
  last_attempt_at: Date | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: Date;
  sent_at: Date | null;
  dead_at: Date | null;
  payload: ReceiptPayload;
}

const COLUMNS = 'id, seq, status, recipient, attempts, next_attempt_at, last_attempt_at, last_status_code, last_error, created_at, sent_at, dead_at, payload';

const toReceipt = (r: ReceiptRow): OutgoingEmail => ({
  id: r.id,
  seq: r.seq,
  status: r.status,
  recipient: r.recipient,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  lastAttemptAt: r.last_attempt_at,
  lastStatusCode: r.last_status_code,
  lastError: r.last_error,
  createdAt: r.created_at,
  sentAt: r.sent_at,
  deadAt: r.dead_at,
  payload: r.payload,
});

export async function findReceipt(pool: Pool, movementKey: string): Promise<OutgoingEmail | null> {
  const { rows } = await pool.query<ReceiptRow>(`SELECT ${COLUMNS} FROM outgoing_emails WHERE id = $1`, [movementKey]);
  return rows[0] ? toReceipt(rows[0]) : null;
}

/** Receipts, newest first, filtered by status and creation time. */
export async function listReceipts(pool: Pool, filter: { status?: ReceiptStatus; since?: Date; limit: number }): Promise<OutgoingEmail[]> {
  const { rows } = await pool.query<ReceiptRow>(
    `SELECT ${COLUMNS} FROM outgoing_emails
     WHERE ($1::text IS NULL OR status = $1) AND ($2::timestamptz IS NULL OR created_at >= $2)
     ORDER BY seq DESC LIMIT $3`,
    [filter.status ?? null, filter.since ?? null, filter.limit],
  );
  return rows.map(toReceipt);
}

/**
 * An operator replays a receipt that is `dead` (or `sent`, to send it again): it becomes `pending`, due now, with a
 * fresh attempt budget, to the recipient it was written with. The same Message-ID goes out, so a mailbox that holds
 * it drops the copy. A `skipped` receipt (the account had no address) is not replayed. Returns the status it had, or
 * null when there is no such row or it is pending or skipped.
 */
export async function replayReceipt(pool: Pool, id: string): Promise<ReceiptStatus | null> {
  const { rows } = await pool.query<{ status: ReceiptStatus }>(
    `UPDATE outgoing_emails e
     SET status = 'pending', attempts = 0, next_attempt_at = now(), lease_until = NULL, lease_token = NULL, sent_at = NULL, dead_at = NULL
     FROM (SELECT id, status FROM outgoing_emails WHERE id = $1 FOR UPDATE) before
     WHERE e.id = before.id AND before.status IN ('dead', 'sent')
     RETURNING before.status`,
    [id],
  );
  return rows[0]?.status ?? null;
}
