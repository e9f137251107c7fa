import { ApplicationFailure } from '@temporalio/common';
import type Stripe from 'stripe';
import {
  keyGeneration,
  stripeKeyForCreditMark,
  stripeKeyForCreditTransaction,
} from '../src/domain/idempotency-keys.js';
import { FAILURE_TYPES } from '../src/domain/failure-types.js';
import type { PaymentIntentSnapshot } from '../src/domain/payment.js';
import type { Metrics } from '../src/metrics.js';
import type { StripeClient } from '../src/stripe/stripe-client.js';
import { toPaymentIntentSnapshot } from '../src/stripe/payment-intent-snapshot.js';
import { isIdempotentReplay, isServerError, toActivityFailure } from '../src/stripe/stripe-failures.js';

/** What a Stripe SDK result carries about its HTTP response (absent on objects found by a lookup). */
type Replayable = { lastResponse?: { headers: Record<string, string> } };

/** How many generations of one Idempotency-Key may be spent on replayed 5xx before an operator looks. */
export const MAX_KEY_GENERATIONS = 5;

export interface StripePaymentActivityDeps {
  stripe: StripeClient;
  metrics?: Metrics;
}

export interface CreditCustomerBalanceInput {
  paymentIntentId: string;
  customerId: string;
  amountMinor: number;
  currency: string;
  ledgerEntryId: string;
  /** From the PaymentIntent's metadata, when an earlier run already recorded it there. */
  knownBalanceTransactionId: string | null;
}

export interface CreditCustomerBalanceResult {
  balanceTransactionId: string;
  /** How it was obtained: found by lookup, or created now. */
  via: 'metadata' | 'lookup' | 'created';
}

export interface MarkPaymentIntentInput {
  paymentIntentId: string;
  ledgerEntryId: string;
  balanceTransactionId: string | null;
  currentMetadata: Record<string, string>;
}

export interface StripeRefund {
  id: string;
  amountMinor: number;
  currency: string;
}

/** The metadata payconfirm writes on a credited PaymentIntent; identical on every attempt. */
export function creditMarkMetadata(input: Pick<MarkPaymentIntentInput, 'ledgerEntryId' | 'balanceTransactionId'>): Record<string, string> {
  return {
    credited: 'true',
    ledger_entry_id: input.ledgerEntryId,
    balance_transaction_id: input.balanceTransactionId ?? '',
  };
}

/**
 * Stripe side effects of a payment. Each is idempotent on its own: lookup before write, then a POST
 * under a deterministic Idempotency-Key whose parameters never change between attempts.
 */
export function createStripePaymentActivities({ stripe, metrics }: StripePaymentActivityDeps) {
  const guardStopped = (guard: 'stripe_lookup' | 'stripe_idempotency') => metrics?.duplicatesStopped.inc({ guard });

  /**
   * POSTs under `baseKey`. When Stripe replays a stored 5xx, the request that spent the key has finished;
   * `appliedMeanwhile` — a lookup made now, after it — tells whether that request wrote anything. If it did,
   * that is the result (a lookup made before the POST proves nothing: the spent request may have been
   * concurrent with it, e.g. an attempt of a terminated run). If not, the key's next generation is used.
   */
  async function postWithKeyGenerations<T extends Replayable>(
    what: string,
    baseKey: string,
    post: (idempotencyKey: string) => Promise<T>,
    appliedMeanwhile: () => Promise<T | null>,
  ): Promise<{ result: T; foundAfterReplay: boolean }> {
    for (let generation = 0; generation < MAX_KEY_GENERATIONS; generation++) {
      try {
        const result = await post(keyGeneration(baseKey, generation));
        if (result.lastResponse?.headers['idempotent-replayed'] === 'true') guardStopped('stripe_idempotency');
        return { result, foundAfterReplay: false };
      } catch (err) {
        if (!(isServerError(err) && isIdempotentReplay(err))) throw toActivityFailure(err, what);
      }
      const applied = await appliedMeanwhile();
      if (applied) {
        guardStopped('stripe_lookup');
        return { result: applied, foundAfterReplay: true };
      }
    }
    throw ApplicationFailure.nonRetryable(
      `${what}: ${MAX_KEY_GENERATIONS} generations of Idempotency-Key ${baseKey} were answered with stored 5xx errors`,
      FAILURE_TYPES.stripeKeyGenerationsExhausted,
    );
  }

  async function findBalanceTransactionFor(customerId: string, paymentIntentId: string): Promise<Stripe.CustomerBalanceTransaction | null> {
    try {
      for await (const tx of stripe.customers.listBalanceTransactions(customerId, { limit: 100 })) {
        if (tx.metadata?.payment_intent === paymentIntentId) return tx;
      }
      return null;
    } catch (err) {
      throw toActivityFailure(err, `list balance transactions of ${customerId}`);
    }
  }

  async function retrievePaymentIntent(paymentIntentId: string): Promise<Stripe.PaymentIntent> {
    try {
      return await stripe.paymentIntents.retrieve(paymentIntentId);
    } catch (err) {
      throw toActivityFailure(err, `retrieve ${paymentIntentId}`);
    }
  }

  return {
    async loadPaymentIntent(paymentIntentId: string): Promise<PaymentIntentSnapshot> {
      return toPaymentIntentSnapshot(await retrievePaymentIntent(paymentIntentId));
    },

    /** Credits the Stripe customer's balance once per PaymentIntent (a negative amount is a credit in Stripe). */
    async creditCustomerBalance(input: CreditCustomerBalanceInput): Promise<CreditCustomerBalanceResult> {
      if (input.knownBalanceTransactionId) {
        guardStopped('stripe_lookup');
        return { balanceTransactionId: input.knownBalanceTransactionId, via: 'metadata' };
      }
      const found = await findBalanceTransactionFor(input.customerId, input.paymentIntentId);
      if (found) {
        guardStopped('stripe_lookup');
        return { balanceTransactionId: found.id, via: 'lookup' };
      }
      const params: Stripe.CustomerCreateBalanceTransactionParams = {
        amount: -input.amountMinor,
        currency: input.currency,
        description: `payconfirm credit for ${input.paymentIntentId}`,
        metadata: { payment_intent: input.paymentIntentId, ledger_entry_id: input.ledgerEntryId },
      };
      const { result, foundAfterReplay } = await postWithKeyGenerations<Replayable & Stripe.CustomerBalanceTransaction>(
        `credit customer ${input.customerId} for ${input.paymentIntentId}`,
        stripeKeyForCreditTransaction(input.paymentIntentId),
        (idempotencyKey) => stripe.customers.createBalanceTransaction(input.customerId, params, { idempotencyKey }),
        () => findBalanceTransactionFor(input.customerId, input.paymentIntentId),
      );
      return { balanceTransactionId: result.id, via: foundAfterReplay ? 'lookup' : 'created' };
    },

    /** Records on the PaymentIntent that it was credited, with the ids just created. */
    async markPaymentIntentCredited(input: MarkPaymentIntentInput): Promise<{ alreadyMarked: boolean }> {
      const metadata = creditMarkMetadata(input);
      // Stripe drops a metadata key set to '' (no balance transaction when there is no customer): absent equals ''.
      const carriesMark = (current: Stripe.Metadata | null | undefined) => Object.entries(metadata).every(([k, v]) => (current?.[k] ?? '') === v);
      if (carriesMark(input.currentMetadata)) return { alreadyMarked: true };
      const { foundAfterReplay } = await postWithKeyGenerations<Replayable & Stripe.PaymentIntent>(
        `mark ${input.paymentIntentId} credited`,
        stripeKeyForCreditMark(input.paymentIntentId),
        (idempotencyKey) => stripe.paymentIntents.update(input.paymentIntentId, { metadata }, { idempotencyKey }),
        async () => {
          const pi = await retrievePaymentIntent(input.paymentIntentId);
          return carriesMark(pi.metadata) ? pi : null;
        },
      );
      return { alreadyMarked: foundAfterReplay };
    },

    /** Succeeded refunds of a PaymentIntent (each becomes one ledger debit keyed by its id). */
    async listSucceededRefunds(paymentIntentId: string): Promise<StripeRefund[]> {
      const refunds: StripeRefund[] = [];
      try {
        for await (const r of stripe.refunds.list({ payment_intent: paymentIntentId, limit: 100 })) {
          if (r.status === 'succeeded') refunds.push({ id: r.id, amountMinor: r.amount, currency: r.currency });
        }
      } catch (err) {
        throw toActivityFailure(err, `list refunds of ${paymentIntentId}`);
      }
      return refunds;
    },
  };
}

export type StripePaymentActivities = ReturnType<typeof createStripePaymentActivities>;
