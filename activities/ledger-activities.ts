import { ApplicationFailure } from '@temporalio/common';
import { findAccountById, findAccountByStripeCustomer } from '../src/db/accounts.js';
import { LedgerIdempotencyConflictError } from '../src/db/ledger.js';
import {
  AccountOfRecordError,
  applyMovements,
  DecisionRefusedError,
  loadPaymentBooks,
  PaymentRejectedError,
  recordDecision,
  type NewDecision,
} from '../src/db/payment-books.js';
import type { Pool } from '../src/db/pool.js';
import { markEventsIgnoredByPayment } from '../src/db/webhook-inbox.js';
import type { MoneyPolicy } from '../src/domain/credit-policy.js';
import { FAILURE_TYPES } from '../src/domain/failure-types.js';
import type { Movement } from '../src/domain/payment-movements.js';
import type { PaymentBooks } from '../src/domain/payment-plan.js';
import type { Metrics } from '../src/metrics.js';

export interface LedgerActivityDeps {
  pool: Pool;
  /** CREDIT_PAYMENT_INTENTS and STRIPE_BALANCE_MIRROR of this deployment. */
  policy: MoneyPolicy;
  metrics?: Metrics;
}

export type AccountLookup =
  | { found: true; accountId: string; stripeCustomerId: string }
  | { found: false; reason: 'no_customer' | 'no_account_for_customer' | 'unknown_account'; detail: string };

/**
 * Postgres side effects of a payment (run as local activities: short, on the workflow's own worker).
 * Each is idempotent through the ledger's unique keys and the books' SQL rules.
 */
export function createLedgerActivities({ pool, policy, metrics }: LedgerActivityDeps) {
  return {
    /** The payment's books (movements, mirror records, lasting decisions) and the deployment's money policy. */
    async loadPaymentBooks(paymentIntentId: string): Promise<{ books: PaymentBooks; policy: MoneyPolicy }> {
      return { books: await loadPaymentBooks(pool, paymentIntentId), policy };
    },

    /** The account to credit first: the operator's resolve if any, else the one linked to Stripe's customer. */
    async findAccountToCredit(input: { customerId: string | null; resolvedAccountId: string | null }): Promise<AccountLookup> {
      if (input.resolvedAccountId) {
        const account = await findAccountById(pool, input.resolvedAccountId);
        return account
          ? { found: true, accountId: account.id, stripeCustomerId: account.stripeCustomerId }
          : { found: false, reason: 'unknown_account', detail: `account ${input.resolvedAccountId} does not exist` };
      }
      if (!input.customerId) return { found: false, reason: 'no_customer', detail: 'the PaymentIntent has no Stripe customer' };
      const account = await findAccountByStripeCustomer(pool, input.customerId);
      return account
        ? { found: true, accountId: account.id, stripeCustomerId: account.stripeCustomerId }
        : { found: false, reason: 'no_account_for_customer', detail: `no payconfirm account is linked to Stripe customer ${input.customerId}` };
    },

    /**
     * Applies the missing movements to the account in one transaction and returns the books after it, with
     * the keys this call created (their mirror needs no lookup).
     */
    async applyPaymentMovements(input: { paymentIntentId: string; accountId: string; movements: Movement[] }): Promise<{ books: PaymentBooks; created: string[] }> {
      try {
        const results = await applyMovements(pool, input.accountId, input.movements);
        const created = results.filter((r) => r.created).map((r) => r.entry.idempotencyKey);
        for (const r of results) {
          metrics?.ledgerMovements.inc({ kind: r.entry.kind, result: r.created ? 'created' : 'existing' });
          if (r.entry.kind === 'payment_credit') metrics?.credits.inc({ result: r.created ? 'created' : 'existing' });
          if (!r.created) metrics?.duplicatesStopped.inc({ guard: 'ledger_key' });
        }
        return { books: await loadPaymentBooks(pool, input.paymentIntentId), created };
      } catch (err) {
        if (err instanceof LedgerIdempotencyConflictError || err instanceof AccountOfRecordError) {
          throw ApplicationFailure.nonRetryable(err.message, FAILURE_TYPES.ledgerConflict);
        }
        if (err instanceof PaymentRejectedError) throw ApplicationFailure.nonRetryable(err.message, FAILURE_TYPES.paymentRejected);
        throw err;
      }
    },

    /** Stores an operator decision so it binds every later path; refused (typed) when it no longer applies. */
    async recordOperatorDecision(decision: NewDecision): Promise<void> {
      try {
        await recordDecision(pool, decision);
      } catch (err) {
        if (err instanceof DecisionRefusedError) throw ApplicationFailure.nonRetryable(err.message, FAILURE_TYPES.decisionRefused);
        throw err;
      }
    },

    /** The events that woke a payment which is no credit purchase: their inbox rows say so (`ignored`). */
    async recordEventsIgnored(input: { eventIds: string[]; outcome: string }): Promise<void> {
      await markEventsIgnoredByPayment(pool, input.eventIds, input.outcome);
    },
  };
}

export type LedgerActivities = ReturnType<typeof createLedgerActivities>;
