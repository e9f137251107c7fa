import { createHash } from 'node:crypto';
import { inTransaction, type Pool, type PoolClient } from '../db/pool.js';
import { enqueueNotification } from '../notifications/outbox.js';
import {
  canonicalStateText,
  isoFromUnixSeconds,
  itemViews,
  SUBSCRIPTION_CHANGED,
  subscriptionChangedPayload,
  subscriptionNotificationId,
  type SubscriptionItemView,
  type SubscriptionState,
  type SubscriptionFacts,
} from './subscription-state.js';

/**
 * Postgres side of subscriptions (table `stripe_subscriptions`, src/db/migrations/*_stripe_subscriptions.sql):
 * the read ticket, the guarded write with its notification, and the reads the API and the CLI make.
 */

export const stateFingerprint = (state: SubscriptionState): string => createHash('sha256').update(canonicalStateText(state), 'utf8').digest('hex');

/** A ticket taken before asking Stripe: the order of reads, which is the order writes must respect. */
export async function takeReadTicket(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ ticket: number }>("SELECT nextval('stripe_subscription_read_tickets') AS ticket");
  return rows[0]!.ticket;
}

export interface SubscriptionRead {
  state: SubscriptionState;
  /** From takeReadTicket, taken before the read. */
  ticket: number;
  readAt: Date;
  /** The newest event that woke the read (a hint for people). */
  lastEventId: string | null;
}

/**
 * What a write did: `created` (first sight) and `changed` each enqueued one notification; `unchanged` (same state:
 * a duplicate, a retry, an event that changes nothing) only recorded the read; `stale` (a newer read is already
 * there) wrote nothing.
 */
export type SubscriptionWriteOutcome = 'created' | 'changed' | 'unchanged' | 'stale';

export interface SubscriptionWriteResult {
  outcome: SubscriptionWriteOutcome;
  /** The row's version after the write. */
  version: number;
  /** The row's status after the write. */
  status: string;
  /** The notification enqueued by this write, if any. */
  notificationId: string | null;
}

const STATE_COLUMNS = `customer_id, status, currency, items, current_period_start, current_period_end, cancel_at_period_end, cancel_at,
  canceled_at, ended_at, trial_end, pause_collection, livemode, stripe_created, state_fingerprint`;

function stateValues(s: SubscriptionState, fingerprint: string): unknown[] {
  const ts = (seconds: number | null) => (seconds === null ? null : new Date(seconds * 1000));
  return [
    s.customerId,
    s.status,
    s.currency,
    JSON.stringify(itemViews(s.items)),
    ts(s.currentPeriodStart),
    ts(s.currentPeriodEnd),
    s.cancelAtPeriodEnd,
    ts(s.cancelAt),
    ts(s.canceledAt),
    ts(s.endedAt),
    ts(s.trialEnd),
    s.pauseCollection ? JSON.stringify({ behavior: s.pauseCollection.behavior, resumes_at: isoFromUnixSeconds(s.pauseCollection.resumesAt) }) : null,
    s.livemode,
    new Date(s.created * 1000),
    fingerprint,
  ];
}

const ACCOUNT_OF = (param: string) => `(SELECT a.id FROM accounts a WHERE a.stripe_customer_id = ${param})`;

/**
 * Applies one read to the row, in one transaction with its notification:
 *   - no row: insert version 1, notify;
 *   - a row with a ticket at least as new: `stale`, nothing written (the row holds a newer read);
 *   - the same state (fingerprint): record the read only;
 *   - another state: write it as version + 1, notify.
 * Concurrent writers of one subscription queue on the row (FOR UPDATE); two first writers meet on the primary key.
 */
export async function writeSubscriptionRead(pool: Pool, read: SubscriptionRead): Promise<SubscriptionWriteResult> {
  const fingerprint = stateFingerprint(read.state);
  const id = read.state.id;
  return inTransaction(pool, async (tx) => {
    const values = stateValues(read.state, fingerprint);
    const inserted = await tx.query<{ version: number; account_id: string | null; changed_at: Date }>(
      `INSERT INTO stripe_subscriptions (id, ${STATE_COLUMNS}, account_id, version, read_ticket, read_at, last_event_id)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14, $15, $16, ${ACCOUNT_OF('$2')}, 1, $17, $18, $19)
       ON CONFLICT (id) DO NOTHING
       RETURNING version, account_id, changed_at`,
      [id, ...values, read.ticket, read.readAt, read.lastEventId],
    );
    if (inserted.rows[0]) {
      const row = inserted.rows[0];
      const notificationId = await notify(tx, read, fingerprint, { version: 1, previousStatus: null, accountId: row.account_id, changedAt: row.changed_at });
      return { outcome: 'created', version: 1, status: read.state.status, notificationId };
    }

    const { rows } = await tx.query<{ version: number; status: string; state_fingerprint: string; read_ticket: number }>(
      'SELECT version, status, state_fingerprint, read_ticket FROM stripe_subscriptions WHERE id = $1 FOR UPDATE',
      [id],
    );
    const current = rows[0]!;
    if (current.read_ticket >= read.ticket) return { outcome: 'stale', version: current.version, status: current.status, notificationId: null };
    if (current.state_fingerprint === fingerprint) {
      await tx.query(
        `UPDATE stripe_subscriptions SET read_ticket = $2, read_at = $3, last_event_id = COALESCE($4, last_event_id),
           account_id = COALESCE(account_id, ${ACCOUNT_OF('customer_id')})
         WHERE id = $1`,
        [id, read.ticket, read.readAt, read.lastEventId],
      );
      return { outcome: 'unchanged', version: current.version, status: current.status, notificationId: null };
    }
    const updated = await tx.query<{ version: number; account_id: string | null; changed_at: Date }>(
      `UPDATE stripe_subscriptions SET (${STATE_COLUMNS}) = ($2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14, $15, $16),
         account_id = ${ACCOUNT_OF('$2')}, version = version + 1, read_ticket = $17, read_at = $18,
         last_event_id = COALESCE($19, last_event_id), changed_at = now()
       WHERE id = $1
       RETURNING version, account_id, changed_at`,
      [id, ...values, read.ticket, read.readAt, read.lastEventId],
    );
    const row = updated.rows[0]!;
    const notificationId = await notify(tx, read, fingerprint, { version: row.version, previousStatus: current.status, accountId: row.account_id, changedAt: row.changed_at });
    return { outcome: 'changed', version: row.version, status: read.state.status, notificationId };
  });
}

async function notify(
  tx: PoolClient,
  read: SubscriptionRead,
  fingerprint: string,
  at: { version: number; previousStatus: string | null; accountId: string | null; changedAt: Date },
): Promise<string> {
  const id = subscriptionNotificationId(read.state.id, at.version, fingerprint);
  await enqueueNotification(tx, {
    id,
    type: SUBSCRIPTION_CHANGED,
    payload: subscriptionChangedPayload({ state: read.state, ...at, lastEventId: read.lastEventId, readAt: read.readAt }),
  });
  return id;
}

/** A stored subscription, as the API and the CLI show it (snake_case, ISO times, money as minor units + currency). */
export interface StoredSubscription extends SubscriptionFacts {
  id: string;
  created: string;
  version: number;
  last_event_id: string | null;
  read_at: string;
  changed_at: string;
}

interface Row {
  id: string;
  customer_id: string;
  account_id: string | null;
  status: string;
  currency: string;
  items: SubscriptionItemView[];
  current_period_start: Date | null;
  current_period_end: Date | null;
  cancel_at_period_end: boolean;
  cancel_at: Date | null;
  canceled_at: Date | null;
  ended_at: Date | null;
  trial_end: Date | null;
  pause_collection: { behavior: string; resumes_at: string | null } | null;
  livemode: boolean;
  stripe_created: Date;
  version: number;
  last_event_id: string | null;
  read_at: Date;
  changed_at: Date;
}

const SELECT_ROW = `SELECT id, customer_id, account_id, status, currency, items, current_period_start, current_period_end,
  cancel_at_period_end, cancel_at, canceled_at, ended_at, trial_end, pause_collection, livemode, stripe_created, version,
  last_event_id, read_at, changed_at FROM stripe_subscriptions`;

const isoOrNull = (d: Date | null) => (d ? d.toISOString() : null);

const toStored = (r: Row): StoredSubscription => ({
  id: r.id,
  customer_id: r.customer_id,
  account_id: r.account_id,
  status: r.status,
  currency: r.currency,
  items: r.items,
  current_period_start: isoOrNull(r.current_period_start),
  current_period_end: isoOrNull(r.current_period_end),
  cancel_at_period_end: r.cancel_at_period_end,
  cancel_at: isoOrNull(r.cancel_at),
  canceled_at: isoOrNull(r.canceled_at),
  ended_at: isoOrNull(r.ended_at),
  trial_end: isoOrNull(r.trial_end),
  pause_collection: r.pause_collection,
  livemode: r.livemode,
  created: r.stripe_created.toISOString(),
  version: r.version,
  last_event_id: r.last_event_id,
  read_at: r.read_at.toISOString(),
  changed_at: r.changed_at.toISOString(),
});

export async function findSubscription(pool: Pool, id: string): Promise<StoredSubscription | null> {
  const { rows } = await pool.query<Row>(`${SELECT_ROW} WHERE id = $1`, [id]);
  return rows[0] ? toStored(rows[0]) : null;
}

export interface SubscriptionFilter {
  customerId?: string;
  accountId?: string;
  status?: string;
  /** Newest (Stripe `created`) first; rows after this subscription id. */
  startingAfter?: string;
  limit: number;
}

/**
 * Subscriptions, newest first (Stripe's `created`, then id). `startingAfter`: the last id of the previous page (an
 * unknown id gives an empty page).
 */
export async function listSubscriptions(pool: Pool, filter: SubscriptionFilter): Promise<StoredSubscription[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: (p: string) => string, value: unknown) => {
    params.push(value);
    where.push(sql(`$${params.length}`));
  };
  if (filter.customerId !== undefined) add((p) => `customer_id = ${p}`, filter.customerId);
  if (filter.accountId !== undefined) add((p) => `account_id = ${p}`, filter.accountId);
  if (filter.status !== undefined) add((p) => `status = ${p}`, filter.status);
  if (filter.startingAfter !== undefined) {
    add((p) => `(stripe_created, id) < (SELECT c.stripe_created, c.id FROM stripe_subscriptions c WHERE c.id = ${p})`, filter.startingAfter);
  }
  params.push(filter.limit);
  const { rows } = await pool.query<Row>(
    `${SELECT_ROW} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY stripe_created DESC, id DESC LIMIT $${params.length}`,
    params,
  );
  return rows.map(toStored);
}
