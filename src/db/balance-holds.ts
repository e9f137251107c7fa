import type { Pool, PoolClient } from './pool.js';

/**
 * Holds on an account's balance (table balance_holds, src/db/migrations/*_balance_holds.sql): credits reserved by a
 * refund asked through the API, from before Stripe is asked until the refund's own ledger debit settles the hold
 * (a trigger, same transaction) or Stripe's refusal releases it. Available = balance − held.
 */
export type HoldStatus = 'held' | 'settled' | 'released';

export interface BalanceHold {
  id: string;
  holdKey: string;
  accountId: string;
  currency: string;
  amountMinor: number;
  paymentIntentId: string;
  stripeRefundId: string | null;
  status: HoldStatus;
  createdAt: Date;
}

export interface Availability {
  currency: string;
  balanceMinor: number;
  heldMinor: number;
  /** balance − held: what a debit or a refund may still take. */
  availableMinor: number;
}

interface HoldRow {
  id: string;
  hold_key: string;
  account_id: string;
  currency: string;
  amount_minor: number;
  payment_intent_id: string;
  stripe_refund_id: string | null;
  status: HoldStatus;
  created_at: Date;
}

const HOLD_COLUMNS = 'id, hold_key, account_id, currency, amount_minor, payment_intent_id, stripe_refund_id, status, created_at';

const toHold = (r: HoldRow): BalanceHold => ({
  id: r.id,
  holdKey: r.hold_key,
  accountId: r.account_id,
  currency: r.currency,
  amountMinor: r.amount_minor,
  paymentIntentId: r.payment_intent_id,
  stripeRefundId: r.stripe_refund_id,
  status: r.status,
  createdAt: r.created_at,
});

const HELD_SUM = `COALESCE((SELECT sum(h.amount_minor) FROM balance_holds h
  WHERE h.account_id = b.account_id AND h.currency = b.currency AND h.status = 'held'), 0)::bigint`;

/**
 * Locks the account's balance row for this currency (FOR UPDATE: every debit and every refund hold of the account
 * and currency queues behind it) and says what is available. No balance row: nothing was ever credited, 0 available.
 *
 * Two statements, on purpose: under READ COMMITTED a statement that waited for the lock sees the locked row's newest
 * version but keeps its own older snapshot for everything else, so holds summed in the locking statement would miss
 * a hold the previous lock holder just committed (the race test of test/hostile-tenant.test.ts found exactly that).
 * The sum is read after the lock is held, by a statement whose snapshot is newer than every earlier holder's commit.
 */
export async function lockAvailability(tx: PoolClient, accountId: string, currency: string): Promise<Availability> {
  const locked = await tx.query<{ balance: number }>('SELECT amount_minor AS balance FROM balances WHERE account_id = $1 AND currency = $2 FOR UPDATE', [
    accountId,
    currency,
  ]);
  const balanceMinor = locked.rows[0]?.balance ?? 0;
  const held = await tx.query<{ held: number }>(
    `SELECT COALESCE(sum(amount_minor), 0)::bigint AS held FROM balance_holds WHERE account_id = $1 AND currency = $2 AND status = 'held'`,
    [accountId, currency],
  );
  const heldMinor = held.rows[0]?.held ?? 0;
  return { currency, balanceMinor, heldMinor, availableMinor: balanceMinor - heldMinor };
}

/** Every currency of the account, with what is held (no lock: for people and answers). */
export async function listAvailability(db: Pool | PoolClient, accountId: string): Promise<Availability[]> {
  const { rows } = await db.query<{ currency: string; balance: number; held: number }>(
    `SELECT b.currency, b.amount_minor AS balance, ${HELD_SUM} AS held FROM balances b WHERE b.account_id = $1 ORDER BY b.currency`,
    [accountId],
  );
  return rows.map((r) => ({ currency: r.currency, balanceMinor: r.balance, heldMinor: r.held, availableMinor: r.balance - r.held }));
}

/**
 * Places a hold in the caller's transaction, which must hold the balance lock (`lockAvailability`) and have checked
 * the amount against what is available. Idempotent on the hold key: the same request placing it again gets the first.
 */
export async function placeHold(
  tx: PoolClient,
  h: { holdKey: string; accountId: string; currency: string; amountMinor: number; paymentIntentId: string },
): Promise<BalanceHold> {
  const { rows } = await tx.query<HoldRow>(
    `INSERT INTO balance_holds (hold_key, account_id, currency, amount_minor, payment_intent_id) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (hold_key) DO NOTHING RETURNING ${HOLD_COLUMNS}`,
    [h.holdKey, h.accountId, h.currency, h.amountMinor, h.paymentIntentId],
  );
  if (rows[0]) return toHold(rows[0]);
  const existing = await tx.query<HoldRow>(`SELECT ${HOLD_COLUMNS} FROM balance_holds WHERE hold_key = $1`, [h.holdKey]);
  return toHold(existing.rows[0]!);
}

/** Stripe refused the refund: the hold stops counting. A hold already settled (the refund exists after all) stays settled. */
export async function releaseHold(db: Pool | PoolClient, holdId: string): Promise<void> {
  await db.query(`UPDATE balance_holds SET status = 'released', closed_at = now() WHERE id = $1 AND status = 'held'`, [holdId]);
}

/** Notes which Stripe refund a hold reserved for (its debit settles the hold by the refund's metadata either way). */
export async function attachRefundToHold(db: Pool | PoolClient, holdId: string, refundId: string): Promise<void> {
  await db.query('UPDATE balance_holds SET stripe_refund_id = $2 WHERE id = $1 AND stripe_refund_id IS NULL', [holdId, refundId]);
}

/** The account's holds still counting, oldest first. */
export async function listOpenHolds(db: Pool | PoolClient, accountId: string): Promise<BalanceHold[]> {
  const { rows } = await db.query<HoldRow>(`SELECT ${HOLD_COLUMNS} FROM balance_holds WHERE account_id = $1 AND status = 'held' ORDER BY created_at, id`, [accountId]);
  return rows.map(toHold);
}

/** A currency in which an account owes: its balance is below zero (a refund outside the API, a lost dispute). */
export interface Debt {
  accountId: string;
  currency: string;
  debtMinor: number;
}

/** Every account in debt, most owed first (the partial index balances_in_debt keeps it cheap). */
export async function listDebts(db: Pool | PoolClient, limit = 100): Promise<Debt[]> {
  const { rows } = await db.query<{ account_id: string; currency: string; debt: number }>(
    'SELECT account_id, currency, -amount_minor AS debt FROM balances WHERE amount_minor < 0 ORDER BY amount_minor, account_id LIMIT $1',
    [limit],
  );
  return rows.map((r) => ({ accountId: r.account_id, currency: r.currency, debtMinor: r.debt }));
}
