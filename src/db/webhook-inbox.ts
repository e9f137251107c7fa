import { isPaymentEventType, type EventOutcome, type StripeEventSummary } from '../domain/stripe-events.js';
import { jsonbColumns, storedJson } from './jsonb-storable.js';
import type { Pool } from './pool.js';

/** The inbox (`stripe_webhook_events`): one row per Stripe event id. States are described in the migration. */
export type InboxStatus = 'received' | 'dispatched' | 'processed' | 'ignored' | 'failed' | 'dead';

export const INBOX_STATUSES: readonly InboxStatus[] = ['received', 'dispatched', 'processed', 'ignored', 'failed', 'dead'];

export interface ClaimedInboxRow {
  eventId: string;
  payload: unknown;
  attempts: number;
}

export interface InboxRow {
  eventId: string;
  eventType: string;
  paymentIntentId: string | null;
  status: InboxStatus;
  outcome: string | null;
  lastError: string | null;
  attempts: number;
  receivedAt: Date;
  dispatchedAt: Date | null;
  processedAt: Date | null;
  /** Starts Temporal refused (the row's own fault); at WEBHOOK_RELAY_MAX_ATTEMPTS the row is `dead`. */
  refusedStarts: number;
  nextAttemptAt: Date | null;
  replayCount: number;
  replayedAt: Date | null;
}

/** How an inbox row arrived: a webhook delivery, or the backfill from `GET /v1/events`. */
export type InboxSource = 'webhook' | 'backfill';

const summaryValues = (e: StripeEventSummary) => [e.id, e.type, e.livemode, e.apiVersion, e.created, e.paymentIntentId];

/** 0: an event payconfirm's payment routing takes, dispatched first; 1: any other (subscriptions, team routes). */
export const dispatchOrderOf = (eventType: string): 0 | 1 => (isPaymentEventType(eventType) ? 0 : 1);

/**
 * Records a delivery: `inserted` for the first delivery of an event id, `duplicate` for every later one
 * (concurrent twins included: the primary key decides, ON CONFLICT DO NOTHING writes nothing).
 * `rawPayload` is the body exactly as received (valid JSON, already verified), kept exactly even where `jsonb` cannot
 * hold it (src/db/jsonb-storable.ts: the text goes to `payload_exact`). `source`: `backfill` for an event the
 * backfill found in `GET /v1/events` (the endpoint never got it); the same row, the same dedup, the same relay.
 */
export async function insertInboxEvent(
  pool: Pool,
  e: StripeEventSummary,
  rawPayload: string,
  source: InboxSource = 'webhook',
): Promise<'inserted' | 'duplicate'> {
  const payload = jsonbColumns(rawPayload);
  const { rowCount } = await pool.query(
    `INSERT INTO stripe_webhook_events (event_id, event_type, livemode, api_version, stripe_created_at, payment_intent_id, payload, payload_exact, source, dispatch_order)
     VALUES ($1, $2, $3, $4, to_timestamp($5), $6, $7::jsonb, $8, $9, $10)
     ON CONFLICT (event_id) DO NOTHING`,
    [...summaryValues(e), payload.jsonb, payload.exact, source, dispatchOrderOf(e.type)],
  );
  return rowCount === 1 ? 'inserted' : 'duplicate';
}

/**
 * Claims up to `limit` rows awaiting dispatch, oldest first, for `leaseSeconds`. Relays in several API replicas
 * claim disjoint rows (FOR UPDATE SKIP LOCKED); no transaction stays open while Temporal is called, and a
 * relay that dies mid-batch leaves claims that expire and are taken again. Payment events go first
 * (`dispatch_order`), then every other type; oldest first within each. A row Temporal refused waits out its own
 * backoff (`next_attempt_at`), so rows that keep failing never hold up fresh ones.
 */
export async function claimInboxEventsForDispatch(pool: Pool, limit: number, leaseSeconds: number): Promise<ClaimedInboxRow[]> {
  const { rows } = await pool.query<{ event_id: string; payload: unknown; payload_exact: string | null; attempts: number }>(
    `UPDATE stripe_webhook_events SET dispatch_lease_until = now() + make_interval(secs => $2), attempts = attempts + 1
     WHERE event_id IN (
       SELECT event_id FROM stripe_webhook_events
       WHERE status = 'received' AND (dispatch_lease_until IS NULL OR dispatch_lease_until < now())
         AND (next_attempt_at IS NULL OR next_attempt_at <= now())
       ORDER BY dispatch_order, received_at
       LIMIT $1
       FOR UPDATE SKIP LOCKED)
     RETURNING event_id, payload, payload_exact, attempts`,
    [limit, leaseSeconds],
  );
  return rows.map((r) => ({ eventId: r.event_id, payload: storedJson(r.payload, r.payload_exact), attempts: r.attempts }));
}

/** The event workflows of these rows exist now. A row the workflow already finished keeps its final status. */
export async function markInboxEventsDispatched(pool: Pool, eventIds: string[]): Promise<void> {
  if (eventIds.length === 0) return;
  await pool.query(
    `UPDATE stripe_webhook_events
     SET status = CASE WHEN status = 'received' THEN 'dispatched' ELSE status END,
         dispatched_at = COALESCE(dispatched_at, now()), dispatch_lease_until = NULL, last_error = NULL
     WHERE event_id = ANY($1)`,
    [eventIds],
  );
}

/** Temporal could not be reached for these rows: release the claims at once (the relay backs off) and say why. No attempt counts. */
export async function releaseInboxClaims(pool: Pool, eventIds: string[], error: string): Promise<void> {
  if (eventIds.length === 0) return;
  await pool.query(
    `UPDATE stripe_webhook_events SET dispatch_lease_until = NULL, last_error = $2 WHERE event_id = ANY($1) AND status = 'received'`,
    [eventIds, error.slice(0, 2_000)],
  );
}

/** How a row Temporal refused is retried: `maxAttempts` refusals in all, `initialSeconds` apart doubling up to `maxSeconds`. */
export interface DeadLetterPolicy {
  maxAttempts: number;
  initialSeconds: number;
  maxSeconds: number;
}

/**
 * Temporal answered and refused to start these rows' workflows: each row counts an attempt and waits its own
 * backoff; a row at `maxAttempts` becomes `dead` with the error, for an operator to read and replay.
 * Returns the rows that died now.
 */
export async function recordRefusedStarts(pool: Pool, refusals: { eventId: string; error: string }[], policy: DeadLetterPolicy): Promise<string[]> {
  if (refusals.length === 0) return [];
  const { rows } = await pool.query<{ event_id: string; status: InboxStatus }>(
    `UPDATE stripe_webhook_events e
     SET refused_starts = e.refused_starts + 1, last_error = r.error, dispatch_lease_until = NULL,
         status = CASE WHEN e.refused_starts + 1 >= $3 THEN 'dead' ELSE e.status END,
         outcome = CASE WHEN e.refused_starts + 1 >= $3 THEN 'dead_letter: the event workflow could not be started' ELSE e.outcome END,
         processed_at = CASE WHEN e.refused_starts + 1 >= $3 THEN now() ELSE e.processed_at END,
         next_attempt_at = CASE WHEN e.refused_starts + 1 >= $3 THEN NULL
                                ELSE now() + make_interval(secs => least($5::float8, $4::float8 * 2 ^ e.refused_starts)) END
     FROM unnest($1::text[], $2::text[]) AS r(event_id, error)
     WHERE e.event_id = r.event_id AND e.status = 'received'
     RETURNING e.event_id, e.status`,
    [refusals.map((r) => r.eventId), refusals.map((r) => r.error.slice(0, 2_000)), policy.maxAttempts, policy.initialSeconds, policy.maxSeconds],
  );
  return rows.filter((r) => r.status === 'dead').map((r) => r.event_id);
}

/** A row no workflow can take (its stored payload is not an event): `dead` at once, for an operator. */
export async function killInboxEvent(pool: Pool, eventId: string, error: string): Promise<void> {
  await pool.query(
    `UPDATE stripe_webhook_events SET status = 'dead', outcome = 'undeliverable', last_error = $2, dispatch_lease_until = NULL, next_attempt_at = NULL, processed_at = now()
     WHERE event_id = $1 AND status = 'received'`,
    [eventId, error.slice(0, 2_000)],
  );
}

/**
 * Writes the event workflow's outcome on its row — an UPSERT, because a delivery accepted while Postgres was down
 * went straight to Temporal and has no row yet (`rawPayload` then carries the body to keep).
 */
export async function recordInboxOutcome(pool: Pool, e: StripeEventSummary, result: EventOutcome, rawPayload?: string): Promise<void> {
  const payload = jsonbColumns(rawPayload ?? JSON.stringify({ id: e.id, type: e.type, note: 'payload kept by Temporal only' }));
  await pool.query(
    `INSERT INTO stripe_webhook_events
       (event_id, event_type, livemode, api_version, stripe_created_at, payment_intent_id, payload, payload_exact,
        status, outcome, last_error, dispatched_at, processed_at)
     VALUES ($1, $2, $3, $4, to_timestamp($5), $6, $7::jsonb, $11, $8, $9, $10, now(), now())
     ON CONFLICT (event_id) DO UPDATE SET
       status = EXCLUDED.status, outcome = EXCLUDED.outcome, last_error = EXCLUDED.last_error,
       dispatched_at = COALESCE(stripe_webhook_events.dispatched_at, now()), dispatch_lease_until = NULL,
       processed_at = now()
     WHERE NOT (stripe_webhook_events.status = 'ignored' AND stripe_webhook_events.outcome LIKE '${NOT_ELIGIBLE_OUTCOME}:%')`,
    [...summaryValues(e), payload.jsonb, result.status, result.outcome, result.lastError ?? null, payload.exact],
  );
}

/** Outcome prefix of events about a PaymentIntent that is no credit purchase (written by its payment workflow). */
export const NOT_ELIGIBLE_OUTCOME = 'not_eligible';

/**
 * The payment workflow found the PaymentIntent is no credit purchase: the events that woke it are `ignored`
 * with the reason. The event workflow's own `processed: forwarded…` never overwrites this verdict, whichever
 * lands first.
 */
export async function markEventsIgnoredByPayment(pool: Pool, eventIds: string[], why: string): Promise<void> {
  if (eventIds.length === 0) return;
  await pool.query(
    `UPDATE stripe_webhook_events SET status = 'ignored', outcome = $2, last_error = NULL, processed_at = now(), dispatch_lease_until = NULL
     WHERE event_id = ANY($1)`,
    [eventIds, `${NOT_ELIGIBLE_OUTCOME}: ${why}`.slice(0, 2_000)],
  );
}

/**
 * One batch of the prune ($1 retention days, $2 batch size), bounded by the batch: the rows are picked on the partial
 * index stripe_webhook_events_prunable (migration 1732300000014), which holds only prunable rows (not the failed and
 * dead ones kept before them), then deleted by their tuple ids — an `event_id IN (…)` let the planner hash-join the
 * batch against a sequential scan of the whole inbox. The outer condition is checked again on a row changed
 * meanwhile (a replay makes it `dispatched`): such a row stays.
 */
export const PRUNE_INBOX_BATCH_SQL = `DELETE FROM stripe_webhook_events
WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM stripe_webhook_events
    WHERE status IN ('processed', 'ignored') AND received_at < now() - make_interval(days => $1)
    LIMIT $2))
  AND status IN ('processed', 'ignored') AND received_at < now() - make_interval(days => $1)`;

/**
 * Deletes finished rows (processed, ignored) received more than `retentionDays` ago, in batches so no statement
 * holds locks for long. Rows still received, dispatched or failed stay: they are what an operator must see.
 */
export async function pruneInbox(pool: Pool, retentionDays: number, batchSize = 5_000): Promise<number> {
  let deleted = 0;
  for (;;) {
    const { rowCount } = await pool.query(PRUNE_INBOX_BATCH_SQL, [retentionDays, batchSize]);
    deleted += rowCount ?? 0;
    if ((rowCount ?? 0) < batchSize) return deleted;
  }
}

interface InboxDbRow {
  event_id: string;
  event_type: string;
  payment_intent_id: string | null;
  status: InboxStatus;
  outcome: string | null;
  last_error: string | null;
  attempts: number;
  received_at: Date;
  dispatched_at: Date | null;
  processed_at: Date | null;
  refused_starts: number;
  next_attempt_at: Date | null;
  replay_count: number;
  replayed_at: Date | null;
}

const INBOX_COLUMNS =
  'event_id, event_type, payment_intent_id, status, outcome, last_error, attempts, received_at, dispatched_at, processed_at, refused_starts, next_attempt_at, replay_count, replayed_at';

const toInboxRow = (r: InboxDbRow): InboxRow => ({
  eventId: r.event_id,
  eventType: r.event_type,
  paymentIntentId: r.payment_intent_id,
  status: r.status,
  outcome: r.outcome,
  lastError: r.last_error,
  attempts: r.attempts,
  receivedAt: r.received_at,
  dispatchedAt: r.dispatched_at,
  processedAt: r.processed_at,
  refusedStarts: r.refused_starts,
  nextAttemptAt: r.next_attempt_at,
  replayCount: r.replay_count,
  replayedAt: r.replayed_at,
});

export async function findInboxEvent(pool: Pool, eventId: string): Promise<InboxRow | null> {
  const { rows } = await pool.query<InboxDbRow>(`SELECT ${INBOX_COLUMNS} FROM stripe_webhook_events WHERE event_id = $1`, [eventId]);
  return rows[0] ? toInboxRow(rows[0]) : null;
}

/** Inbox rows, newest first, filtered by status, type (exact, or a prefix ending in `*`) and receipt time. */
export async function listInboxEvents(
  pool: Pool,
  filter: { status?: InboxStatus; type?: string; since?: Date; limit: number },
): Promise<InboxRow[]> {
  const type = filter.type?.endsWith('*') ? `${filter.type.slice(0, -1).replace(/[%_\\]/g, '\\$&')}%` : filter.type?.replace(/[%_\\]/g, '\\$&');
  const { rows } = await pool.query<InboxDbRow>(
    `SELECT ${INBOX_COLUMNS} FROM stripe_webhook_events
     WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR event_type LIKE $2) AND ($3::timestamptz IS NULL OR received_at >= $3)
     ORDER BY received_at DESC, event_id LIMIT $4`,
    [filter.status ?? null, type ?? null, filter.since ?? null, filter.limit],
  );
  return rows.map(toInboxRow);
}

/** What a replay needs of a row: its status and the body as received. */
export async function findInboxPayload(pool: Pool, eventId: string): Promise<{ status: InboxStatus; payload: unknown } | null> {
  const { rows } = await pool.query<{ status: InboxStatus; payload: unknown; payload_exact: string | null }>(
    `SELECT status, payload, payload_exact FROM stripe_webhook_events WHERE event_id = $1`,
    [eventId],
  );
  return rows[0] ? { status: rows[0].status, payload: storedJson(rows[0].payload, rows[0].payload_exact) } : null;
}

/** The row as it was before a replay took it, to put back if the replay could not start. */
export interface ReplayedFrom {
  status: InboxStatus;
  outcome: string | null;
}

/**
 * An operator replays the event: the row goes back to `dispatched` (the new run of its workflow writes the
 * outcome) and counts the replay. Done before the start, so the new run's outcome can never be overwritten.
 * Null when the row is gone or still `received` (the relay has it: nothing to replay).
 */
export async function markInboxEventReplaying(pool: Pool, eventId: string): Promise<ReplayedFrom | null> {
  const { rows } = await pool.query<ReplayedFrom>(
    `UPDATE stripe_webhook_events e
     SET status = 'dispatched', outcome = NULL, last_error = NULL, dispatched_at = now(), processed_at = NULL,
         next_attempt_at = NULL, dispatch_lease_until = NULL, replay_count = e.replay_count + 1, replayed_at = now()
     FROM (SELECT event_id, status, outcome FROM stripe_webhook_events WHERE event_id = $1 FOR UPDATE) before
     WHERE e.event_id = before.event_id AND before.status <> 'received'
     RETURNING before.status, before.outcome`,
    [eventId],
  );
  return rows[0] ?? null;
}

/** A replay could not start its workflow: the row gets its earlier status back, with the reason. */
export async function restoreAfterFailedReplay(pool: Pool, eventId: string, before: ReplayedFrom, error: string): Promise<void> {
  await pool.query(
    `UPDATE stripe_webhook_events SET status = $2, outcome = $3, last_error = $4, processed_at = now() WHERE event_id = $1 AND status = 'dispatched'`,
    [eventId, before.status, before.outcome, `replay failed: ${error}`.slice(0, 2_000)],
  );
}
