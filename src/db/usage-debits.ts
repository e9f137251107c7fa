import { ledgerKeyForUsageDebit } from '../domain/idempotency-keys.js';
import { lockAvailability } from './balance-holds.js';
import { callerKeyDigest } from './idempotency-keys.js';
import { appendLedgerEntry, findLedgerEntryByKey, type LedgerEntry } from './ledger.js';
import type { PoolClient } from './pool.js';

/** Spending would take what is available (balance − holds) below zero: refused, nothing written. */
export class InsufficientBalanceError extends Error {
  override readonly name = 'InsufficientBalanceError';
  constructor(readonly availableMinor: number, readonly currency: string) {
    super(`${availableMinor} ${currency} is available`);
  }
}

/** The Idempotency-Key already spent credits for a different debit (its stored answer has expired): refused. */
export class DebitKeyReusedError extends Error {
  override readonly name = 'DebitKeyReusedError';
  constructor(readonly existing: LedgerEntry) {
    super(`this Idempotency-Key already made debit ${existing.id}`);
  }
}

export interface UsageDebit {
  accountId: string;
  amountMinor: number;
  currency: string;
  idempotencyKey: string;
  reference?: string | null;
  metadata?: Record<string, string> | null;
}

export interface UsageDebitResult {
  entry: LedgerEntry;
  /** The balance right after this debit, in ledger order. */
  balanceAfterMinor: number;
  /** false: the ledger already held this debit (a retry after its key's answer expired); nothing moved. */
  created: boolean;
}

/**
 * Spends credits, in the caller's transaction. The account's balance row is locked (`lockAvailability`, the same
 * lock a refund's hold takes), so concurrent debits and refunds of one account and currency queue up, and none can
 * take what is available (balance − holds) below zero (invariant 11). Refunds and disputes made outside the API may
 * still leave a negative balance (debt); a debit never does.
 *
 * The ledger row is the debit's own record: a retry whose stored answer has expired (IDEMPOTENCY_KEY_TTL_HOURS)
 * finds it under the key derived from its Idempotency-Key and is answered from it; nothing moves again.
 */
export async function debitUsage(tx: PoolClient, d: UsageDebit): Promise<UsageDebitResult> {
  const ledgerKey = ledgerKeyForUsageDebit(d.accountId, callerKeyDigest(d.idempotencyKey));
  const { availableMinor, balanceMinor } = await lockAvailability(tx, d.accountId, d.currency);
  const existing = await findLedgerEntryByKey(tx, ledgerKey);
  if (existing) {
    if (existing.amountMinor !== -d.amountMinor || existing.currency !== d.currency) throw new DebitKeyReusedError(existing);
    return { entry: existing, balanceAfterMinor: await balanceAfter(tx, existing), created: false };
  }
  if (availableMinor < d.amountMinor) throw new InsufficientBalanceError(availableMinor, d.currency);
  const { entry } = await appendLedgerEntry(tx, {
    accountId: d.accountId,
    currency: d.currency,
    amountMinor: -d.amountMinor,
    kind: 'usage_debit',
    // The caller's Idempotency-Key, never its free-text reference: two debits sharing a reference both apply.
    idempotencyKey: ledgerKey,
    reference: d.reference ?? null,
    metadata: d.metadata ?? null,
  });
  return { entry, balanceAfterMinor: balanceMinor - d.amountMinor, created: true };
}

/** The account's balance in the entry's currency just after it, in ledger order (seq). */
async function balanceAfter(tx: PoolClient, entry: LedgerEntry): Promise<number> {
  const { rows } = await tx.query<{ amount: string }>(
    'SELECT COALESCE(sum(amount_minor), 0)::text AS amount FROM ledger_entries WHERE account_id = $1 AND currency = $2 AND seq <= $3',
    [entry.accountId, entry.currency, entry.seq],
  );
  return Number(rows[0]!.amount);
}
