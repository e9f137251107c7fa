import type { Pool, PoolClient } from './pool.js';
import { ledgerKeyForPaymentCredit } from '../domain/idempotency-keys.js';
import type { Movement, MovementKind } from '../domain/payment-movements.js';
import { REFUND_HOLD_METADATA } from '../domain/refund-allowance.js';

export type LedgerEntryKind = MovementKind | 'usage_debit' | 'admin_credit' | 'admin_debit';

export interface LedgerEntry {
  id: string;
  seq: number;
  accountId: string;
  currency: string;
  amountMinor: number;
  kind: LedgerEntryKind;
  idempotencyKey: string;
  paymentIntentId: string | null;
  stripeRefundId: string | null;
  stripeDisputeId: string | null;
  reference: string | null;
  createdAt: Date;
}

export interface NewLedgerEntry {
  accountId: string;
  currency: string;
  amountMinor: number;
  kind: LedgerEntryKind;
  /** Explicit and unique per intended movement of money; never a reused business reference. */
  idempotencyKey: string;
  paymentIntentId?: string | null;
  stripeRefundId?: string | null;
  stripeDisputeId?: string | null;
  reference?: string | null;
  /** The caller's own labels (usage debits): stored, never used to deduplicate. */
  metadata?: Record<string, string> | null;
}

export interface AppendResult {
  entry: LedgerEntry;
  /** false: the key was already used for this same movement; nothing changed. */
  created: boolean;
}

/** A key reused for a different movement of money: refused loudly, nothing written. */
export class LedgerIdempotencyConflictError extends Error {
  override readonly name = 'LedgerIdempotencyConflictError';
  constructor(readonly idempotencyKey: string, readonly existing: LedgerEntry, readonly attempted: NewLedgerEntry) {
    super(
      `ledger idempotency key ${idempotencyKey} already records ${existing.kind} ${existing.amountMinor} ${existing.currency} ` +
        `for account ${existing.accountId}; refused ${attempted.kind} ${attempted.amountMinor} ${attempted.currency} for account ${attempted.accountId}`,
    );
  }
}

type Queryable = Pool | PoolClient;

const COLUMNS = `id, seq, account_id, currency, amount_minor, kind, idempotency_key, payment_intent_id, stripe_refund_id, stripe_dispute_id, reference, created_at`;

interface LedgerRow {
  id: string;
  seq: number;
  account_id: string;
  currency: string;
  amount_minor: number;
  kind: LedgerEntryKind;
  idempotency_key: string;
  payment_intent_id: string | null;
  stripe_refund_id: string | null;
  stripe_dispute_id: string | null;
  reference: string | null;
  created_at: Date;
}

const toEntry = (r: LedgerRow): LedgerEntry => ({
  id: r.id,
  seq: r.seq,
  accountId: r.account_id,
  currency: r.currency,
  amountMinor: r.amount_minor,
  kind: r.kind,
  idempotencyKey: r.idempotency_key,
  paymentIntentId: r.payment_intent_id,
  stripeRefundId: r.stripe_refund_id,
  stripeDisputeId: r.stripe_dispute_id,
  reference: r.reference,
  createdAt: r.created_at,
});

const sameMovement = (a: LedgerEntry, b: NewLedgerEntry): boolean =>
  a.accountId === b.accountId &&
  a.currency === b.currency &&
  a.amountMinor === b.amountMinor &&
  a.kind === b.kind &&
  (a.paymentIntentId ?? null) === (b.paymentIntentId ?? null) &&
  (a.stripeRefundId ?? null) === (b.stripeRefundId ?? null) &&
  (a.stripeDisputeId ?? null) === (b.stripeDisputeId ?? null);

/**
 * Appends one ledger entry, exactly once per idempotency key.
 *
 * One statement does it: the INSERT either writes the row — and the AFTER INSERT trigger moves the
 * balance in the same transaction — or finds the key taken and writes nothing at all. A concurrent
 * duplicate waits on the unique index and then takes the second branch. A taken key is returned
 * only if it records the same movement; otherwise LedgerIdempotencyConflictError.
 */
export async function appendLedgerEntry(db: Queryable, entry: NewLedgerEntry): Promise<AppendResult> {
  const inserted = await db.query<LedgerRow>(
    `INSERT INTO ledger_entries (account_id, currency, amount_minor, kind, idempotency_key, payment_intent_id, stripe_refund_id, stripe_dispute_id, reference, metadata)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb)
     ON CONFLICT (idempotency_key) DO NOTHING
     RETURNING ${COLUMNS}`,
    [
      entry.accountId,
      entry.currency,
      entry.amountMinor,
      entry.kind,
      entry.idempotencyKey,
      entry.paymentIntentId ?? null,
      entry.stripeRefundId ?? null,
      entry.stripeDisputeId ?? null,
      entry.reference ?? null,
      entry.metadata ? JSON.stringify(entry.metadata) : null,
    ],
  );
  if (inserted.rows[0]) return { entry: toEntry(inserted.rows[0]), created: true };
  const existing = await findLedgerEntryByKey(db, entry.idempotencyKey);
  if (!existing) throw new Error(`ledger key ${entry.idempotencyKey} conflicted but no row was found`);
  if (!sameMovement(existing, entry)) throw new LedgerIdempotencyConflictError(entry.idempotencyKey, existing, entry);
  return { entry: existing, created: false };
}

export async function findLedgerEntryByKey(db: Queryable, idempotencyKey: string): Promise<LedgerEntry | null> {
  const { rows } = await db.query<LedgerRow>(`SELECT ${COLUMNS} FROM ledger_entries WHERE idempotency_key = $1`, [idempotencyKey]);
  return rows[0] ? toEntry(rows[0]) : null;
}

export function creditPayment(
  db: Queryable,
  p: { accountId: string; paymentIntentId: string; amountMinor: number; currency: string },
): Promise<AppendResult> {
  return appendLedgerEntry(db, {
    accountId: p.accountId,
    currency: p.currency,
    amountMinor: p.amountMinor,
    kind: 'payment_credit',
    idempotencyKey: ledgerKeyForPaymentCredit(p.paymentIntentId),
    paymentIntentId: p.paymentIntentId,
    reference: `Stripe payment ${p.paymentIntentId}`,
  });
}

/** Appends one movement of a payment's money model (credit, refund, reversal, dispute) to an account. */
export function appendMovement(db: Queryable, accountId: string, m: Movement): Promise<AppendResult> {
  const refund = m.kind === 'refund_debit' || m.kind === 'refund_reversal';
  const dispute = m.kind === 'dispute_debit' || m.kind === 'dispute_reversal';
  return appendLedgerEntry(db, {
    accountId,
    currency: m.currency,
    amountMinor: m.amountMinor,
    kind: m.kind,
    idempotencyKey: m.key,
    paymentIntentId: m.paymentIntentId,
    stripeRefundId: refund ? m.stripeObjectId : null,
    stripeDisputeId: dispute ? m.stripeObjectId : null,
    reference: `Stripe ${m.kind.replace('_', ' ')} ${m.stripeObjectId}`,
    metadata: m.holdId ? { [REFUND_HOLD_METADATA]: m.holdId } : null,
  });
}

export interface Balance {
  currency: string;
  amountMinor: number;
}

export async function getBalances(db: Queryable, accountId: string): Promise<Balance[]> {
  const { rows } = await db.query<{ currency: string; amount_minor: number }>(
    'SELECT currency, amount_minor FROM balances WHERE account_id = $1 ORDER BY currency',
    [accountId],
  );
  return rows.map((r) => ({ currency: r.currency, amountMinor: r.amount_minor }));
}

/** Newest first; `beforeSeq` is the cursor (the last page's smallest seq). */
export async function listLedgerEntries(
  db: Queryable,
  accountId: string,
  page: { limit: number; beforeSeq?: number },
): Promise<LedgerEntry[]> {
  const { rows } = await db.query<LedgerRow>(
    `SELECT ${COLUMNS} FROM ledger_entries
     WHERE account_id = $1 AND ($2::bigint IS NULL OR seq < $2)
     ORDER BY seq DESC LIMIT $3`,
    [accountId, page.beforeSeq ?? null, page.limit],
  );
  return rows.map(toEntry);
}
