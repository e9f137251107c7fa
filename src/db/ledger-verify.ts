import type { Pool } from './pool.js';

export interface BalanceMismatch {
  accountId: string;
  currency: string;
  storedMinor: number;
  ledgerSumMinor: number;
}

export interface DuplicateCredit {
  paymentIntentId: string;
  entries: number;
}

export interface LedgerVerification {
  ok: boolean;
  /** Invariant 1: stored balance = sum of ledger entries, per (account, currency). */
  balanceMismatches: BalanceMismatch[];
  /** Invariant 2: at most one payment credit per PaymentIntent. */
  duplicateCredits: DuplicateCredit[];
}

/** Checks the ledger's invariants against what is stored; read-only, one consistent snapshot. */
export async function verifyLedger(pool: Pool): Promise<LedgerVerification> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const mismatches = await client.query<{ account_id: string; currency: string; stored: number; ledger_sum: number }>(`
      SELECT COALESCE(b.account_id, l.account_id) AS account_id, COALESCE(b.currency, l.currency) AS currency,
             COALESCE(b.amount_minor, 0)::bigint AS stored, COALESCE(l.total, 0)::bigint AS ledger_sum
      FROM balances b
      FULL OUTER JOIN (SELECT account_id, currency, SUM(amount_minor) AS total FROM ledger_entries GROUP BY 1, 2) l
        ON l.account_id = b.account_id AND l.currency = b.currency
      WHERE COALESCE(b.amount_minor, 0) <> COALESCE(l.total, 0)
      ORDER BY 1, 2`);
    const duplicates = await client.query<{ payment_intent_id: string; entries: number }>(`
      SELECT payment_intent_id, COUNT(*)::int AS entries FROM ledger_entries
      WHERE kind = 'payment_credit' GROUP BY payment_intent_id HAVING COUNT(*) > 1 ORDER BY 1`);
    await client.query('COMMIT');
    const balanceMismatches = mismatches.rows.map((r) => ({
      accountId: r.account_id,
      currency: r.currency,
      storedMinor: r.stored,
      ledgerSumMinor: r.ledger_sum,
    }));
    const duplicateCredits = duplicates.rows.map((r) => ({ paymentIntentId: r.payment_intent_id, entries: r.entries }));
    return { ok: balanceMismatches.length === 0 && duplicateCredits.length === 0, balanceMismatches, duplicateCredits };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
