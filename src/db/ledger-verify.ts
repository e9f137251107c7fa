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

/** A PaymentIntent whose movements are not all on its account of record (the credit's account). */
export interface AccountOfRecordViolation {
  paymentIntentId: string;
  accounts: number;
}

/** A PaymentIntent whose mirror on Stripe (as recorded) is not the opposite of its ledger net. */
export interface MirrorMismatch {
  paymentIntentId: string;
  ledgerNetMinor: number;
  /** −(sum of the recorded mirror transactions). */
  mirrorNetMinor: number;
  unmirroredMovements: number;
}

export interface LedgerVerification {
  ok: boolean;
  /** Invariant 1: stored balance = sum of ledger entries, per (account, currency). */
  balanceMismatches: BalanceMismatch[];
  /** Invariant 2: at most one payment credit per PaymentIntent. */
  duplicateCredits: DuplicateCredit[];
  /** Invariant 7 (account of record): every movement of a PaymentIntent goes to its credit's account. */
  accountOfRecordViolations: AccountOfRecordViolation[];
  /**
   * Invariant 7 (mirror), from Postgres alone: with the mirror on and not skipped, the recorded mirror net of each
   * PaymentIntent equals −its ledger net, movements younger than the grace excepted (their mirror may be under
   * way). Against Stripe itself: `payconfirm reconcile`.
   */
  mirrorMismatches: MirrorMismatch[];
}

export interface VerifyOptions {
  /** STRIPE_BALANCE_MIRROR: `off` skips the mirror check. Default on. */
  balanceMirror?: 'on' | 'off';
  /** Movements younger than this are not expected to be mirrored yet. Default 15 minutes. */
  mirrorGraceSeconds?: number;
}

/** Checks the ledger's invariants against what is stored; read-only, one consistent snapshot. */
export async function verifyLedger(pool: Pool, opts: VerifyOptions = {}): Promise<LedgerVerification> {
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
    const accounts = await client.query<{ payment_intent_id: string; accounts: number }>(`
      SELECT payment_intent_id, COUNT(DISTINCT account_id)::int AS accounts FROM ledger_entries
      WHERE payment_intent_id IS NOT NULL GROUP BY payment_intent_id HAVING COUNT(DISTINCT account_id) > 1 ORDER BY 1`);
    const mirrors =
      opts.balanceMirror === 'off'
        ? { rows: [] }
        : await client.query<{ payment_intent_id: string; ledger_net: number; mirror_net: number; unmirrored: number }>(
            `SELECT l.payment_intent_id, SUM(l.amount_minor)::bigint AS ledger_net,
                    (-COALESCE(SUM(m.amount_minor), 0))::bigint AS mirror_net,
                    COUNT(*) FILTER (WHERE m.movement_key IS NULL)::int AS unmirrored
             FROM ledger_entries l
             LEFT JOIN ledger_mirror m ON m.movement_key = l.idempotency_key
             WHERE l.payment_intent_id IS NOT NULL
               AND l.created_at < now() - make_interval(secs => $1)
               AND NOT EXISTS (SELECT 1 FROM payment_decisions d WHERE d.payment_intent_id = l.payment_intent_id AND d.decision = 'skip_mirror')
             GROUP BY l.payment_intent_id
             HAVING SUM(l.amount_minor) <> -COALESCE(SUM(m.amount_minor), 0) OR COUNT(*) FILTER (WHERE m.movement_key IS NULL) > 0
             ORDER BY 1`,
            [opts.mirrorGraceSeconds ?? 900],
          );
    await client.query('COMMIT');
    const balanceMismatches = mismatches.rows.map((r) => ({
      accountId: r.account_id,
      currency: r.currency,
      storedMinor: r.stored,
      ledgerSumMinor: r.ledger_sum,
    }));
    const duplicateCredits = duplicates.rows.map((r) => ({ paymentIntentId: r.payment_intent_id, entries: r.entries }));
    const accountOfRecordViolations = accounts.rows.map((r) => ({ paymentIntentId: r.payment_intent_id, accounts: r.accounts }));
    const mirrorMismatches = mirrors.rows.map((r) => ({
      paymentIntentId: r.payment_intent_id,
      ledgerNetMinor: Number(r.ledger_net),
      mirrorNetMinor: Number(r.mirror_net),
      unmirroredMovements: r.unmirrored,
    }));
    const ok = balanceMismatches.length === 0 && duplicateCredits.length === 0 && accountOfRecordViolations.length === 0 && mirrorMismatches.length === 0;
    return { ok, balanceMismatches, duplicateCredits, accountOfRecordViolations, mirrorMismatches };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
