import type { Pool } from '../db/pool.js';

/**
 * The PaymentIntents with any activity since `since` — a ledger movement, a webhook event, an operator decision —
 * read page by page at a cost bounded by the page, whatever the size of the tables (issue 19, item 6).
 *
 * The sources are walked one after the other, each in its own time order (ledger, then inbox, then decisions), by a
 * keyset cursor on an index that starts at the window (migration 1732300000014): a page is one index range scan of at
 * most `limit` rows per source it reaches, never a scan of the ledger, and nothing is sorted or re-read.
 *
 * A PaymentIntent is named once per walk, at its first activity in the window in that walk order: a row names its
 * PaymentIntent only when no earlier row of the same source in the window does, and no earlier source has it in the
 * window (both checks are index lookups by PaymentIntent). So a page may name fewer PaymentIntents than it read rows,
 * even none; the walk ends when `next` is null. Activity that arrives while a walk runs may be left to the next run,
 * whose lookback overlaps this one.
 */

interface ActivitySource {
  name: ActivityCursor['source'];
  table: string;
  time: string;
  tie: string;
  /** The tie column's type, and a value below every real one (the walk starts at (since, floor)). */
  tieType: string;
  tieFloor: string;
}

const SOURCES: readonly ActivitySource[] = [
  { name: 'ledger', table: 'ledger_entries', time: 'created_at', tie: 'seq', tieType: 'bigint', tieFloor: '-9223372036854775808' },
  { name: 'webhook', table: 'stripe_webhook_events', time: 'received_at', tie: 'event_id', tieType: 'text', tieFloor: '' },
  { name: 'decision', table: 'payment_decisions', time: 'decided_at', tie: 'id', tieType: 'uuid', tieFloor: '00000000-0000-0000-0000-000000000000' },
];

/** Where a walk stands: the source it is in and the last row read there (its time as Postgres wrote it, in µs). */
export interface ActivityCursor {
  source: 'ledger' | 'webhook' | 'decision';
  at: string;
  tie: string;
}

export interface ActivePage {
  paymentIntentIds: string[];
  /** null: every source is read to its end. */
  next: ActivityCursor | null;
}

interface ActivityRow {
  payment_intent_id: string;
  at: string;
  tie: string;
  first: boolean;
}

/** Index range scans per page at most (a page of rows that all name PaymentIntents already named costs one). */
const MAX_SCANS_PER_PAGE = 8;

/** The statement for one source: the next rows after the cursor in the window, each with whether it names its PaymentIntent first. */
export function activityScanSql(source: ActivitySource['name']): string {
  const index = SOURCES.findIndex((s) => s.name === source);
  const s = SOURCES[index]!;
  const earlier = SOURCES.slice(0, index).map(
    (e) => `AND NOT EXISTS (SELECT 1 FROM ${e.table} e WHERE e.payment_intent_id = r.payment_intent_id AND e.${e.time} >= $1)`,
  );
  return `SELECT r.payment_intent_id, r.${s.time}::text AS at, r.${s.tie}::text AS tie,
  NOT EXISTS (SELECT 1 FROM ${s.table} p WHERE p.payment_intent_id = r.payment_intent_id AND p.${s.time} >= $1
              AND (p.${s.time}, p.${s.tie}) < (r.${s.time}, r.${s.tie}))
  ${earlier.join('\n  ')} AS first
FROM ${s.table} r
WHERE r.payment_intent_id IS NOT NULL AND r.${s.time} >= $1 AND (r.${s.time}, r.${s.tie}) > ($2::timestamptz, $3::${s.tieType})
ORDER BY r.${s.time}, r.${s.tie}
LIMIT $4`;
}

const startOf = (s: ActivitySource, since: Date): ActivityCursor => ({ source: s.name, at: since.toISOString(), tie: s.tieFloor });

/** The next page: at most `limit` PaymentIntents, each named once over the whole walk. `cursor` null: from the start. */
export async function activePaymentIntentsPage(pool: Pool, since: Date, cursor: ActivityCursor | null, limit: number): Promise<ActivePage> {
  const ids: string[] = [];
  let at: ActivityCursor | null = cursor ?? startOf(SOURCES[0]!, since);
  for (let scans = 0; at !== null && ids.length < limit && scans < MAX_SCANS_PER_PAGE; scans++) {
    const rowsWanted = limit - ids.length;
    const from: ActivityCursor = at;
    const { rows } = await pool.query<ActivityRow>(activityScanSql(from.source), [since, from.at, from.tie, rowsWanted]);
    for (const r of rows) if (r.first) ids.push(r.payment_intent_id);
    const last: ActivityRow | undefined = rows[rows.length - 1];
    if (last && rows.length === rowsWanted) at = { source: from.source, at: last.at, tie: last.tie };
    else {
      const following = SOURCES[SOURCES.findIndex((s) => s.name === from.source) + 1];
      at = following ? startOf(following, since) : null;
    }
  }
  return { paymentIntentIds: ids, next: at };
}

/** Every PaymentIntent active since `since` (the CLI's list), in id order. */
export async function allActivePaymentIntents(pool: Pool, since: Date, pageSize = 1_000): Promise<string[]> {
  const ids: string[] = [];
  let cursor: ActivityCursor | null = null;
  do {
    const page = await activePaymentIntentsPage(pool, since, cursor, pageSize);
    ids.push(...page.paymentIntentIds);
    cursor = page.next;
  } while (cursor !== null);
  return ids.sort();
}
