import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pruneIdempotencyKeys } from '../src/db/idempotency-keys.js';
import { verifyLedger } from '../src/db/ledger-verify.js';
import { pruneInbox, PRUNE_INBOX_BATCH_SQL } from '../src/db/webhook-inbox.js';
import { activePaymentIntentsPage, activityScanSql, allActivePaymentIntents, type ActivityCursor } from '../src/reconcile/active-payment-intents.js';
import { insertBulkLedger } from './support/bulk-ledger.js';
import { createTestContext, uniqueSuffix, type TestContext } from './support/test-context.js';

/**
 * The scheduled reconcile's scan (src/reconcile/active-payment-intents.ts) on the real Postgres: every PaymentIntent
 * active in the window named exactly once over all pages, none outside it, and — with a ledger of 30,000 rows outside
 * the window — each page an index range scan, never a sequential scan of ledger_entries (asserted on the plan).
 */
let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext('reconcile-scan');
});
afterAll(() => ctx?.close());

const HOUR = 3_600_000;
const now = Date.now();
const since = new Date(now - 24 * HOUR);
const old = new Date(now - 72 * HOUR);
/** Several rows at the very same instant: the keyset's tie column decides their order. */
const sameInstant = new Date(now - 2 * HOUR);

let account: string;
let seq = 0;
const pi = (label: string) => `pi_scan_${label}_${uniqueSuffix()}`;

async function credit(paymentIntentId: string, at: Date): Promise<void> {
  await ctx.pool.query(
    `INSERT INTO ledger_entries (account_id, currency, amount_minor, kind, idempotency_key, payment_intent_id, created_at)
     VALUES ($1, 'usd', 500, 'payment_credit', 'stripe:payment_intent:' || $2, $2, $3)`,
    [account, paymentIntentId, at],
  );
}
async function refund(paymentIntentId: string, at: Date): Promise<void> {
  const re = `re_scan${++seq}_${uniqueSuffix()}`;
  await ctx.pool.query(
    `INSERT INTO ledger_entries (account_id, currency, amount_minor, kind, idempotency_key, payment_intent_id, stripe_refund_id, created_at)
     VALUES ($1, 'usd', -100, 'refund_debit', 'stripe:refund:' || $3, $2, $3, $4)`,
    [account, paymentIntentId, re, at],
  );
}
async function event(paymentIntentId: string, at: Date): Promise<void> {
  await ctx.pool.query(
    `INSERT INTO stripe_webhook_events (event_id, event_type, livemode, payment_intent_id, payload, status, received_at)
     VALUES ($1, 'payment_intent.succeeded', false, $2, '{}', 'processed', $3)`,
    [`evt_scan${++seq}_${uniqueSuffix()}`, paymentIntentId, at],
  );
}
async function decision(paymentIntentId: string, at: Date): Promise<void> {
  await ctx.pool.query(`INSERT INTO payment_decisions (payment_intent_id, decision, decided_at) VALUES ($1, 'retry', $2)`, [paymentIntentId, at]);
}

/** Walks every page with `limit`; returns the pages' ids. */
async function walk(limit: number): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: ActivityCursor | null = null;
  do {
    const page = await activePaymentIntentsPage(ctx.pool, since, cursor, limit);
    expect(page.paymentIntentIds.length).toBeLessThanOrEqual(limit);
    pages.push(page.paymentIntentIds);
    cursor = page.next;
    expect(pages.length, 'the walk ends').toBeLessThan(500);
  } while (cursor !== null);
  return pages;
}

describe('recently active PaymentIntents, page by page', () => {
  const active: string[] = [];
  const inactive: string[] = [];

  beforeAll(async () => {
    account = (await ctx.pool.query<{ id: string }>(`INSERT INTO accounts (stripe_customer_id) VALUES ('cus_scan${uniqueSuffix()}') RETURNING id`)).rows[0]!.id;
    for (let i = 0; i < 6; i++) {
      // Active in all three sources, several times in the ledger, some rows at one instant.
      const everywhere = pi(`all${i}`);
      await credit(everywhere, i % 2 ? sameInstant : new Date(now - (10 + i) * HOUR));
      await refund(everywhere, sameInstant);
      await refund(everywhere, new Date(now - HOUR));
      await event(everywhere, sameInstant);
      await decision(everywhere, new Date(now - 3 * HOUR));
      // Credited before the window, a webhook event in it: active (found in the inbox).
      const eventOnly = pi(`evt${i}`);
      await credit(eventOnly, old);
      await event(eventOnly, new Date(now - (i + 1) * HOUR));
      await event(eventOnly, sameInstant);
      // Only an operator's decision in the window.
      const decisionOnly = pi(`dec${i}`);
      await decision(decisionOnly, sameInstant);
      await decision(decisionOnly, new Date(now - 5 * HOUR));
      // Everything before the window: not active.
      const stale = pi(`old${i}`);
      await credit(stale, old);
      await refund(stale, old);
      await event(stale, old);
      await decision(stale, old);
      active.push(everywhere, eventOnly, decisionOnly);
      inactive.push(stale);
    }
  });

  it.each([1, 2, 3, 7, 100])('with pages of %i: every active PaymentIntent exactly once, none outside the window', async (limit) => {
    const pages = await walk(limit);
    const named = pages.flat();
    expect(named.length, 'no PaymentIntent named twice').toBe(new Set(named).size);
    expect([...named].sort()).toEqual([...active].sort());
    for (const stale of inactive) expect(named).not.toContain(stale);
  });

  it('the CLI list is the same set, in id order', async () => {
    expect(await allActivePaymentIntents(ctx.pool, since, 4)).toEqual([...active].sort());
  });

  it('a PaymentIntent that becomes active in a source already walked is not named twice', async () => {
    const first = await activePaymentIntentsPage(ctx.pool, since, null, 5);
    const named = new Set(first.paymentIntentIds);
    // New ledger rows for PaymentIntents already named (after the cursor): still named once.
    for (const id of named) await refund(id, new Date());
    const rest = (await walkFrom(first.next, 5)).flat();
    for (const id of rest) expect(named.has(id), `${id} named again`).toBe(false);
    expect([...named, ...rest].sort()).toEqual([...active].sort());
  });
});

async function walkFrom(cursor: ActivityCursor | null, limit: number): Promise<string[][]> {
  const pages: string[][] = [];
  while (cursor !== null) {
    const page = await activePaymentIntentsPage(ctx.pool, since, cursor, limit);
    pages.push(page.paymentIntentIds);
    cursor = page.next;
  }
  return pages;
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}
const nodesOf = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodesOf)];

describe('the plan, with a ledger of 30,000 rows', () => {
  beforeAll(async () => {
    await insertBulkLedger(ctx.pool, ctx.schema, { rows: 30_000, accounts: 50, from: new Date(now - 400 * 24 * HOUR), to: old, prefix: `plan${uniqueSuffix()}` });
  }, 60_000);

  it('the bulk ledger keeps balance = sum of ledger', async () => {
    expect((await verifyLedger(ctx.pool)).balanceMismatches).toEqual([]);
  });

  it.each(['ledger', 'webhook', 'decision'] as const)('a page of the %s source never scans ledger_entries sequentially', async (source) => {
    const cursor = { ledger: '-9223372036854775808', webhook: '', decision: '00000000-0000-0000-0000-000000000000' }[source];
    const { rows } = await ctx.pool.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) ${activityScanSql(source)}`, [since, since.toISOString(), cursor, 100]);
    const nodes = nodesOf(rows[0]!['QUERY PLAN'][0].Plan);
    const onLedger = nodes.filter((n) => n['Relation Name'] === 'ledger_entries');
    expect(onLedger.length, 'the statement reads ledger_entries').toBeGreaterThan(0);
    expect(onLedger.map((n) => n['Node Type'])).not.toContain('Seq Scan');
    if (source === 'ledger') {
      expect(onLedger.find((n) => n['Index Name'] === 'ledger_entries_activity'), JSON.stringify(onLedger)).toMatchObject({ 'Node Type': expect.stringMatching(/^Index (Only )?Scan$/) });
    }
  });
});

describe('the hourly inbox prune, with 20,000 failed rows kept past retention', () => {
  it('a batch reads the prunable rows by their own index, not every old row', async () => {
    await ctx.pool.query(
      `INSERT INTO stripe_webhook_events (event_id, event_type, livemode, payload, status, received_at)
       SELECT 'evt_keptfailed' || n, 'payment_intent.succeeded', false, '{}', CASE WHEN n % 100 = 0 THEN 'processed' ELSE 'failed' END,
              now() - interval '90 days' + n * interval '1 second'
       FROM generate_series(1, 20000) n`,
    );
    await ctx.pool.query('ANALYZE stripe_webhook_events');
    const { rows } = await ctx.pool.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) ${PRUNE_INBOX_BATCH_SQL}`, [30, 5_000]);
    const reads = nodesOf(rows[0]!['QUERY PLAN'][0].Plan).filter((n) => n['Relation Name'] === 'stripe_webhook_events' && n['Node Type'] !== 'ModifyTable');
    expect(reads.map((n) => n['Node Type'])).not.toContain('Seq Scan');
    expect(reads.map((n) => n['Index Name'])).toContain('stripe_webhook_events_prunable');
    expect(await pruneInbox(ctx.pool, 30)).toBe(200);
  });
});

describe('the hourly Idempotency-Key prune', () => {
  it('deletes in batches exactly the keys past their retention', async () => {
    await ctx.pool.query(
      `INSERT INTO idempotency_keys (account_id, idempotency_key, request_method, request_path, request_hash, response_status, response_body, expires_at)
       SELECT $1, 'key-' || n, 'POST', '/accounts/me/debits', '\\x00', 201, '{}', now() + CASE WHEN n % 3 = 0 THEN interval '1 day' ELSE interval '-1 day' END
       FROM generate_series(1, 1200) n`,
      [account],
    );
    expect(await pruneIdempotencyKeys(ctx.pool, 250)).toBe(800);
    const { rows } = await ctx.pool.query<{ left: number; expired: number }>(
      'SELECT count(*)::int AS left, count(*) FILTER (WHERE expires_at < now())::int AS expired FROM idempotency_keys',
    );
    expect(rows[0]).toEqual({ left: 400, expired: 0 });
  });
});
