import { ApplicationFailure } from '@temporalio/common';
import { FAILURE_TYPES } from '../src/domain/failure-types.js';
import { findAccountById, findAccountByStripeCustomer } from '../src/db/accounts.js';
import { creditPayment, debitRefund, LedgerIdempotencyConflictError } from '../src/db/ledger.js';
import type { Pool } from '../src/db/pool.js';
import type { Metrics } from '../src/metrics.js';
import type { StripeRefund } from './stripe-payment-activities.js';

export interface LedgerActivityDeps {
  pool: Pool;
  metrics?: Metrics;
}

export interface LedgerCredit {
  ledgerEntryId: string;
  accountId: string;
  created: boolean;
  creditedAt: string;
}

/** Postgres side effects of a payment; each idempotent through the ledger's unique keys. */
export function createLedgerActivities({ pool, metrics }: LedgerActivityDeps) {
  const rethrowConflict = (err: unknown): never => {
    if (err instanceof LedgerIdempotencyConflictError) throw ApplicationFailure.nonRetryable(err.message, FAILURE_TYPES.ledgerConflict);
    throw err;
  };

  return {
    async findAccountIdForCustomer(stripeCustomerId: string): Promise<string | null> {
      return (await findAccountByStripeCustomer(pool, stripeCustomerId))?.id ?? null;
    },

    async accountExists(accountId: string): Promise<boolean> {
      return (await findAccountById(pool, accountId)) !== null;
    },

    async creditLedgerForPayment(input: {
      accountId: string;
      paymentIntentId: string;
      amountMinor: number;
      currency: string;
    }): Promise<LedgerCredit> {
      const { entry, created } = await creditPayment(pool, input).catch(rethrowConflict);
      metrics?.credits.inc({ result: created ? 'created' : 'existing' });
      if (!created) metrics?.duplicatesStopped.inc({ guard: 'ledger_key' });
      return { ledgerEntryId: entry.id, accountId: entry.accountId, created, creditedAt: entry.createdAt.toISOString() };
    },

    /** One debit per refund id; already-debited refunds are found, not repeated. Returns how many were new. */
    async debitRefundsInLedger(input: { accountId: string; paymentIntentId: string; refunds: StripeRefund[] }): Promise<number> {
      let created = 0;
      for (const refund of input.refunds) {
        const result = await debitRefund(pool, {
          accountId: input.accountId,
          paymentIntentId: input.paymentIntentId,
          refundId: refund.id,
          amountMinor: refund.amountMinor,
          currency: refund.currency,
        }).catch(rethrowConflict);
        if (result.created) created++;
      }
      return created;
    },
  };
}

export type LedgerActivities = ReturnType<typeof createLedgerActivities>;
