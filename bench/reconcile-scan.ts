/**
 * The scheduled reconcile's scan at scale: one page of "PaymentIntents active in the lookback" over a ledger of
 * `--rows` entries (default 1,000,000), before and after the keyset walk (src/reconcile/active-payment-intents.ts,
 * migration 1732300000014), beside the pool's statement timeout (15 s, src/db/pool.ts).
 *
 *   npm run bench:reconcile-scan -- --rows 1000000 --active 20000 --page 100
 *
 * The ledger is written by one generate_series INSERT into a throwaway schema (test/support/bulk-ledger.ts: its
 * triggers off for the insert inside that schema only, balances written as the ledger's sums), `--active` of its rows
 * inside the 24-hour window, the rest over the two years before. "Before" is the replaced statement (one UNION over
 * the three sources, filtered by time, sorted, for every page) run with migration 14 rolled back in a transaction.
 * DATABASE_URL: a Postgres to use (a schema is made and dropped); without it an embedded one is started.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { migrateUp, migrationsDir } from '../src/db/migrate.js';
import { createPool, quoteIdent, type Pool } from '../src/db/pool.js';
import { startEmbeddedPostgres, type RunningPostgres } from '../src/dev/embedded-postgres.js';
import { freePort } from '../src/dev/free-port.js';
import { activePaymentIntentsPage, type ActivityCursor } from '../src/reconcile/active-payment-intents.js';
import { insertBulkLedger } from '../test/support/bulk-ledger.js';

const { values } = parseArgs({
  options: { rows: { type: 'string', default: '1000000' }, active: { type: 'string', default: '20000' }, page: { type: 'string', default: '100' } },
});
const ROWS = Number(values.rows);
const ACTIVE = Math.min(ROWS, Number(values.active));
const PAGE = Number(values.page);
const STATEMENT_TIMEOUT_MS = 15_000; // src/db/pool.ts
const HOUR = 3_600_000;

/** The statement this replaces (src/reconcile/reconcile-payments.ts before migration 1732300000014). */
const BEFORE_SQL = `SELECT payment_intent_id FROM (
    SELECT payment_intent_id FROM ledger_entries WHERE payment_intent_id IS NOT NULL AND created_at >= $1
    UNION SELECT payment_intent_id FROM stripe_webhook_events WHERE payment_intent_id IS NOT NULL AND received_at >= $1
    UNION SELECT payment_intent_id FROM payment_decisions WHERE decided_at >= $1) active
  WHERE $2::text IS NULL OR payment_intent_id > $2
  ORDER BY 1 LIMIT $3`;

const ms = (t0: number) => Math.round((performance.now() - t0) * 10) / 10;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function migration14Down(): string {
  const sql = readFileSync(join(migrationsDir(), '1732300000014_activity_scan_indexes.sql'), 'utf8');
  return sql.slice(sql.indexOf('-- Down Migration'));
}

/** The replaced statement's first page and a page halfway, with the indexes as they were (migration 14 rolled back). */
async function before(pool: Pool, since: Date): Promise<{ firstMs: number | string; middleMs: number | string; plan: string }> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(migration14Down());
    await client.query(`SET LOCAL statement_timeout = ${STATEMENT_TIMEOUT_MS}`);
    const plan = (await client.query(`EXPLAIN ${BEFORE_SQL}`, [since, null, PAGE])).rows.map((r) => r['QUERY PLAN'] as string);
    const timed = async (after: string | null): Promise<number | string> => {
      await client.query('SAVEPOINT page');
      const t0 = performance.now();
      try {
        await client.query(BEFORE_SQL, [since, after, PAGE]);
        return ms(t0);
      } catch (err) {
        if (err instanceof pg.DatabaseError && err.code === '57014') return `> ${STATEMENT_TIMEOUT_MS} (statement timeout)`;
        throw err;
      } finally {
        await client.query('ROLLBACK TO SAVEPOINT page');
      }
    };
    const firstMs = await timed(null);
    const middleMs = await timed(`pi_active_${Math.floor(ACTIVE / 2)}`);
    return { firstMs, middleMs, plan: plan.find((l) => /Scan on ledger_entries|Scan using \w+ on ledger_entries/.test(l))?.trim() ?? plan[0]! };
  } finally {
    await client.query('ROLLBACK').catch(() => {});
    client.release();
  }
}

/** The keyset walk: every page timed, to the end. */
async function after(pool: Pool, since: Date): Promise<{ firstMs: number; medianMs: number; maxMs: number; pages: number; named: number; totalMs: number }> {
  const times: number[] = [];
  let cursor: ActivityCursor | null = null;
  let named = 0;
  const started = performance.now();
  do {
    const t0 = performance.now();
    const page = await activePaymentIntentsPage(pool, since, cursor, PAGE);
    times.push(ms(t0));
    named += page.paymentIntentIds.length;
    cursor = page.next;
  } while (cursor !== null);
  return { firstMs: times[0]!, medianMs: median(times), maxMs: Math.max(...times), pages: times.length, named, totalMs: ms(started) };
}

let dir: string | null = null;
let embedded: RunningPostgres | null = null;
let url = process.env.DATABASE_URL;
if (!url) {
  dir = mkdtempSync(join(tmpdir(), 'payconfirm-bench-reconcile-scan-'));
  embedded = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port: await freePort() });
  url = embedded.url;
}
const schema = `bench_reconcile_scan_${process.pid}`;
await migrateUp({ url, schema });
const pool = createPool({ url, schema, max: 4, application: 'bench-reconcile-scan' });
try {
  const now = Date.now();
  const since = new Date(now - 24 * HOUR);
  let t0 = performance.now();
  await insertBulkLedger(pool, schema, { rows: ROWS - ACTIVE, accounts: 1_000, from: new Date(now - 2 * 365 * 24 * HOUR), to: new Date(since.getTime() - HOUR), prefix: 'old' });
  await insertBulkLedger(pool, schema, { rows: ACTIVE, accounts: 1_000, from: new Date(since.getTime() + HOUR), to: new Date(now), prefix: 'active' });
  const loadMs = ms(t0);
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM ledger_entries');

  t0 = performance.now();
  const b = await before(pool, since);
  const a = await after(pool, since);
  console.log(
    JSON.stringify(
      {
        ledgerRows: rows[0]!.n,
        activeInWindow: ACTIVE,
        pageSize: PAGE,
        loadSeconds: Math.round(loadMs / 100) / 10,
        statementTimeoutMs: STATEMENT_TIMEOUT_MS,
        before: { firstPageMs: b.firstMs, middlePageMs: b.middleMs, ledgerPlan: b.plan },
        after: { firstPageMs: a.firstMs, medianPageMs: a.medianMs, maxPageMs: a.maxMs, pages: a.pages, paymentIntents: a.named, wholeWalkMs: a.totalMs },
      },
      null,
      2,
    ),
  );
  if (a.named !== ACTIVE) throw new Error(`the walk named ${a.named} PaymentIntents, expected ${ACTIVE}`);
} finally {
  await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`).catch(() => {});
  await pool.end();
  await embedded?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}
