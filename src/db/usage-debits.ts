import { ledgerKeyForUsageDebit } from '../domain/idempotency-keys.js';
import { callerKeyDigest } from './idempotency-keys.js';
import { appendLedgerEntry, type LedgerEntry } from './ledger.js';
import type { PoolClient } from './pool.js';

/** Spending would take the balance below zero: refused, nothing written. */
export class InsufficientBalanceError extends Error {
  override readonly name = 'InsufficientBalanceError';
  constructor(readonly balanceMinor: number, readonly currency: string) {
    super(`the balance is ${balanceMinor} ${currency}`);
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

/**
 * Spends credits, in the caller's transaction: the balance row is locked (FOR UPDATE), so concurrent debits of
 * one account and currency queue up and none can take it below zero. Refunds and disputes may still make it
 * negative (debt); a debit never does.
 */
export async function debitUsage(tx: PoolClient, d: UsageDebit): Promise<{ entry: LedgerEntry; balanceAfterMinor: number }> {
  const { rows } = await tx.query<{ amount_minor: number }>(
    'SELECT amount_minor FROM balances WHERE account_id = $1 AND currency = $2 FOR UPDATE',
    [d.accountId, d.currency],
  );
  const balance = rows[0]?.amount_minor ?? 0;
  if (balance < d.amountMinor) throw new InsufficientBalanceError(balance, d.currency);
  const { entry } = await appendLedgerEntry(tx, {
    accountId: d.accountId,
    currency: d.currency,
    amountMinor: -d.amountMinor,
    kind: 'usage_debit',
    // The caller's Idempotency-Key, never its free-text reference: two debits sharing a reference both apply.
    idempotencyKey: ledgerKeyForUsageDebit(d.accountId, callerKeyDigest(d.idempotencyKey)),
    reference: d.reference ?? null,
    metadata: d.metadata ?? null,
  });
  return { entry, balanceAfterMinor: balance - d.amountMinor };
}
