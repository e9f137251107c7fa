import type { Movement } from '../domain/payment-movements.js';
import type { BookedMovement, PaymentBooks, PaymentDecisions } from '../domain/payment-plan.js';
import { appendMovement, type AppendResult } from './ledger.js';
import { inTransaction, type Pool } from './pool.js';

/**
 * A payment's books in Postgres: its ledger movements, their Stripe mirror records, and the operator
 * decisions that bind every later path. The SQL rules behind them: src/db/migrations/*_payment_books.sql.
 */

/** The PaymentIntent was rejected by an operator: the database refuses its credit. */
export class PaymentRejectedError extends Error {
  override readonly name = 'PaymentRejectedError';
}

/** A movement after the credit aimed at another account than the account of record (or came before the credit). */
export class AccountOfRecordError extends Error {
  override readonly name = 'AccountOfRecordError';
}

/** An operator decision that no longer applies (reject or resolve after the credit). */
export class DecisionRefusedError extends Error {
  override readonly name = 'DecisionRefusedError';
}

/** Maps the books triggers' RAISE (SQLSTATE P0001, HINT names the rule) to typed errors. */
function typedRuleError(err: unknown): unknown {
  const e = err as { code?: string; hint?: string; message?: string };
  if (e?.code !== 'P0001') return err;
  if (e.hint === 'payment_rejected') return new PaymentRejectedError(e.message);
  if (e.hint === 'account_of_record' || e.hint === 'no_credit') return new AccountOfRecordError(e.message);
  if (e.hint === 'already_credited') return new DecisionRefusedError(e.message);
  return err;
}

interface MovementRow {
  idempotency_key: string;
  kind: BookedMovement['kind'];
  amount_minor: number;
  currency: string;
  id: string;
  created_at: Date;
  account_id: string;
  stripe_customer_id: string;
  balance_transaction_id: string | null;
}

interface BooksRow extends Partial<MovementRow> {
  rejected: string | null;
  resolved_account_id: string | null;
  mirror_skipped: string | null;
  open_holds: string[] | null;
}

/**
 * Reads the books of one PaymentIntent in one snapshot: one statement, one round trip. The lasting decisions (at
 * most one of each kind: the unique index payment_decisions_lasting) ride on every row; no movement yet → one row
 * of decisions alone.
 */
export async function loadPaymentBooks(pool: Pool, paymentIntentId: string): Promise<PaymentBooks> {
  const { rows } = await pool.query<BooksRow>(
    `WITH decided AS (
       SELECT
         (SELECT reason FROM payment_decisions WHERE payment_intent_id = $1 AND decision = 'reject') AS rejected,
         (SELECT account_id FROM payment_decisions WHERE payment_intent_id = $1 AND decision = 'resolve') AS resolved_account_id,
         (SELECT reason FROM payment_decisions WHERE payment_intent_id = $1 AND decision = 'skip_mirror') AS mirror_skipped,
         (SELECT array_agg(id::text ORDER BY created_at) FROM balance_holds WHERE payment_intent_id = $1 AND status = 'held') AS open_holds
     )
     SELECT decided.*, m.*
     FROM decided
     LEFT JOIN (
       SELECT l.seq, l.idempotency_key, l.kind, l.amount_minor, l.currency, l.id, l.created_at, l.account_id, a.stripe_customer_id,
              COALESCE(r.balance_transaction_id, mi.balance_transaction_id) AS balance_transaction_id
       FROM ledger_entries l
       JOIN accounts a ON a.id = l.account_id
       LEFT JOIN ledger_mirror mi ON mi.movement_key = l.idempotency_key
       LEFT JOIN LATERAL (
         SELECT balance_transaction_id FROM ledger_mirror_repairs WHERE movement_key = l.idempotency_key ORDER BY repaired_at DESC, id DESC LIMIT 1
       ) r ON true
       WHERE l.payment_intent_id = $1
     ) m ON true
     ORDER BY m.seq`,
    [paymentIntentId],
  );
  const movements = rows.filter((r): r is BooksRow & MovementRow => r.idempotency_key != null);
  const credit = movements.find((r) => r.kind === 'payment_credit');
  const lasting: PaymentDecisions = {
    rejected: rows[0]?.rejected ?? null,
    resolvedAccountId: rows[0]?.resolved_account_id ?? null,
    mirrorSkipped: rows[0]?.mirror_skipped ?? null,
  };
  return {
    paymentIntentId,
    accountOfRecord: credit ? { accountId: credit.account_id, stripeCustomerId: credit.stripe_customer_id } : null,
    movements: movements.map((r) => ({
      key: r.idempotency_key,
      kind: r.kind,
      amountMinor: r.amount_minor,
      currency: r.currency,
      ledgerEntryId: r.id,
      createdAt: r.created_at.toISOString(),
      balanceTransactionId: r.balance_transaction_id,
    })),
    decisions: lasting,
    openHoldIds: rows[0]?.open_holds ?? [],
  };
}

/**
 * Applies movements to the account in one transaction: all or none. Each is idempotent on its key, so a
 * retry or a concurrent run finds the rows already there and changes nothing. One movement (a plain credit) is
 * one INSERT statement, atomic with the balance move its trigger makes: no BEGIN/COMMIT round trips around it.
 */
export async function applyMovements(pool: Pool, accountId: string, movements: readonly Movement[]): Promise<AppendResult[]> {
  if (movements.length === 0) return [];
  try {
    if (movements.length === 1) return [await appendMovement(pool, accountId, movements[0]!)];
    return await inTransaction(pool, async (client) => {
      const results: AppendResult[] = [];
      for (const m of movements) results.push(await appendMovement(client, accountId, m));
      return results;
    });
  } catch (err) {
    throw typedRuleError(err);
  }
}

export interface MirrorRecord {
  movementKey: string;
  ledgerEntryId: string;
  stripeCustomerId: string;
  balanceTransactionId: string;
  /** Stripe's sign (the opposite of the ledger movement). */
  amountMinor: number;
  currency: string;
}

/** Records that a Stripe balance transaction mirrors a ledger movement; a second record of the same movement is a no-op. */
export async function recordMirror(pool: Pool, r: MirrorRecord): Promise<void> {
  await pool.query(
    `INSERT INTO ledger_mirror (movement_key, ledger_entry_id, stripe_customer_id, balance_transaction_id, amount_minor, currency)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (movement_key) DO NOTHING`,
    [r.movementKey, r.ledgerEntryId, r.stripeCustomerId, r.balanceTransactionId, r.amountMinor, r.currency],
  );
}

/** Records that a movement's mirror transaction was lost on Stripe and made again (reconcile --fix). */
export async function recordMirrorRepair(pool: Pool, r: { movementKey: string; lostBalanceTransactionId: string; balanceTransactionId: string }): Promise<void> {
  await pool.query(
    `INSERT INTO ledger_mirror_repairs (movement_key, lost_balance_transaction_id, balance_transaction_id)
     VALUES ($1, $2, $3)
     ON CONFLICT (movement_key, lost_balance_transaction_id) DO NOTHING`,
    [r.movementKey, r.lostBalanceTransactionId, r.balanceTransactionId],
  );
}

export type DecisionKind = 'reject' | 'resolve' | 'skip_mirror' | 'retry';

export interface NewDecision {
  paymentIntentId: string;
  decision: DecisionKind;
  accountId?: string | null;
  reason?: string | null;
  attentionReason?: string | null;
}

/**
 * Stores an operator decision (and the audit trail of retries). A lasting decision recorded twice keeps
 * the first. Reject and resolve after the credit are refused by the database (DecisionRefusedError).
 */
export async function recordDecision(pool: Pool, d: NewDecision): Promise<void> {
  try {
    await pool.query(
      `INSERT INTO payment_decisions (payment_intent_id, decision, account_id, reason, attention_reason)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (payment_intent_id, decision) WHERE decision IN ('reject', 'resolve', 'skip_mirror') DO NOTHING`,
      [d.paymentIntentId, d.decision, d.accountId ?? null, d.reason ?? null, d.attentionReason ?? null],
    );
  } catch (err) {
    throw typedRuleError(err);
  }
}

export interface DecisionRow {
  paymentIntentId: string;
  decision: DecisionKind;
  accountId: string | null;
  reason: string | null;
  attentionReason: string | null;
  decidedAt: Date;
}

/** The audit trail of one payment's operator decisions, oldest first. */
export async function listDecisions(pool: Pool, paymentIntentId: string): Promise<DecisionRow[]> {
  const { rows } = await pool.query<{
    payment_intent_id: string;
    decision: DecisionKind;
    account_id: string | null;
    reason: string | null;
    attention_reason: string | null;
    decided_at: Date;
  }>(
    `SELECT payment_intent_id, decision, account_id, reason, attention_reason, decided_at
     FROM payment_decisions WHERE payment_intent_id = $1 ORDER BY decided_at, id`,
    [paymentIntentId],
  );
  return rows.map((r) => ({
    paymentIntentId: r.payment_intent_id,
    decision: r.decision,
    accountId: r.account_id,
    reason: r.reason,
    attentionReason: r.attention_reason,
    decidedAt: r.decided_at,
  }));
}
