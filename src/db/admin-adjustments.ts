import { ledgerKeyForAdjustment } from '../domain/idempotency-keys.js';
import { appendLedgerEntry, type AppendResult } from './ledger.js';
import type { Pool } from './pool.js';

/**
 * A support adjustment of an account's balance: an admin credit (positive) or debit (negative), under an explicit
 * key given by the person adjusting — never under its reason text, so two adjustments sharing a reason both apply,
 * and the same key given twice applies once.
 */
export interface Adjustment {
  accountId: string;
  amountMinor: number;
  currency: string;
  reason: string;
  key: string;
}

export function adjustBalance(pool: Pool, a: Adjustment): Promise<AppendResult> {
  return appendLedgerEntry(pool, {
    accountId: a.accountId,
    currency: a.currency,
    amountMinor: a.amountMinor,
    kind: a.amountMinor > 0 ? 'admin_credit' : 'admin_debit',
    idempotencyKey: ledgerKeyForAdjustment(a.key),
    reference: a.reason,
  });
}
