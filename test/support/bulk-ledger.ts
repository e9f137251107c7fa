import type { Pool } from '../../src/db/pool.js';

/**
 * A large ledger fast, for plan tests and benchmarks: `rows` payment credits (one PaymentIntent each, `pi_bulk_{n}`)
 * over `accounts` accounts, created evenly between `from` and `to`, by one generate_series INSERT.
 *
 * ONLY for a throwaway schema (a test's or a benchmark's): the ledger triggers are disabled in that schema for the
 * insert (a row's advisory lock and balance upsert would make a million rows take minutes and overflow the lock
 * table), then the balances are written as the sums of the ledger — what the triggers would have made — and the
 * triggers enabled again, all in one transaction. Invariant 1 holds afterwards (src/db/ledger-verify.ts checks it).
 */
export async function insertBulkLedger(
  pool: Pool,
  schema: string,
  opts: { rows: number; accounts?: number; from: Date; to: Date; prefix?: string },
): Promise<void> {
  if (!/^t_|^bench_/.test(schema)) throw new Error(`insertBulkLedger disables triggers: only in a throwaway schema (t_… or bench_…), not ${schema}`);
  const accounts = opts.accounts ?? 1_000;
  const prefix = opts.prefix ?? 'bulk';
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query("SET LOCAL statement_timeout = '0'");
    const current = (await client.query<{ schema: string }>('SELECT current_schema() AS schema')).rows[0]?.schema;
    if (current !== schema) throw new Error(`the pool's schema is ${current}, not ${schema}`);
    await client.query(
      `INSERT INTO accounts (stripe_customer_id)
       SELECT 'cus_${prefix}' || a FROM generate_series(1, $1) a ON CONFLICT (stripe_customer_id) DO NOTHING`,
      [accounts],
    );
    await client.query('ALTER TABLE ledger_entries DISABLE TRIGGER USER');
    await client.query('ALTER TABLE balances DISABLE TRIGGER USER');
    await client.query(
      `WITH acct AS (SELECT array_agg(id ORDER BY stripe_customer_id) AS ids FROM accounts WHERE stripe_customer_id LIKE 'cus_${prefix}%')
       INSERT INTO ledger_entries (account_id, currency, amount_minor, kind, idempotency_key, payment_intent_id, created_at)
       SELECT acct.ids[1 + n % cardinality(acct.ids)], 'usd', 100 + n % 900, 'payment_credit',
              'stripe:payment_intent:pi_${prefix}_' || n, 'pi_${prefix}_' || n,
              $2::timestamptz + (($3::timestamptz - $2::timestamptz) * (n - 1)) / greatest($1 - 1, 1)
       FROM generate_series(1, $1) n, acct`,
      [opts.rows, opts.from, opts.to],
    );
    await client.query(
      `INSERT INTO balances (account_id, currency, amount_minor)
       SELECT account_id, currency, sum(amount_minor) FROM ledger_entries GROUP BY account_id, currency
       ON CONFLICT (account_id, currency) DO UPDATE SET amount_minor = EXCLUDED.amount_minor, updated_at = now()`,
    );
    await client.query('ALTER TABLE balances ENABLE TRIGGER USER');
    await client.query('ALTER TABLE ledger_entries ENABLE TRIGGER USER');
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
  // All-visible pages (as an append-only table's are in production), so index-only scans skip the heap.
  const vacuum = await pool.connect();
  try {
    await vacuum.query("SET statement_timeout = '0'");
    await vacuum.query('VACUUM ANALYZE ledger_entries');
    await vacuum.query('ANALYZE balances');
  } finally {
    await vacuum.query('RESET statement_timeout').catch(() => {});
    vacuum.release();
  }
}
