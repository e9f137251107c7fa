import { ApplicationFailure } from '@temporalio/common';
import type Stripe from 'stripe';
import { recordMirror, recordMirrorRepair } from '../src/db/payment-books.js';
import type { Pool } from '../src/db/pool.js';
import { carriesCreditMark, creditMarkMetadata, type CreditMark } from '../src/domain/credit-mark.js';
import { OWN_METADATA_PREFIX } from '../src/domain/credit-policy.js';
import { FAILURE_TYPES } from '../src/domain/failure-types.js';
import {
  keyGeneration,
  stripeKeyForCreditMark,
  stripeKeyForCreditTransaction,
  stripeKeyForMirrorRepair,
  stripeKeyForMirrorTransaction,
} from '../src/domain/idempotency-keys.js';
import type { BookedMovement } from '../src/domain/payment-plan.js';
import type { Metrics } from '../src/metrics.js';
import type { StripeClient } from '../src/stripe/stripe-client.js';
import { isIdempotentReplay, isServerError } from '../src/stripe/stripe-failures.js';
import { toActivityFailure } from './stripe-activity-failure.js';

/** What a Stripe SDK result carries about its HTTP response (absent on objects found by a lookup). */
type Replayable = { lastResponse?: { headers: Record<string, string> } };

/**
 * How many generations of one Idempotency-Key may be spent before an operator looks. A generation is spent
 * only by a fresh 5xx that a later lookup proves applied nothing, and at most one per activity attempt (the
 * attempt then fails and Temporal backs off), so a blip of a few seconds spends one or two, not all.
 */
export const MAX_KEY_GENERATIONS = 12;

/**
 * A mirror transaction is created after its ledger row commits, so a lookup never needs to look further back
 * than the ledger row's time, less this allowance for the clocks of Postgres and Stripe.
 */
export const MIRROR_LOOKUP_CLOCK_SLACK_SECONDS = 15 * 60;

export interface StripeBooksSyncDeps {
  stripe: StripeClient;
  pool: Pool;
  metrics?: Metrics;
}

export interface SyncStripeBooksInput {
  paymentIntentId: string;
  /** Movements to mirror on the Stripe customer balance; null when the mirror is off or skipped. */
  mirror: {
    /** The account of record's Stripe customer: every mirror transaction of the payment goes to it. */
    customerId: string;
    movements: BookedMovement[];
    /**
     * Keys of movements whose ledger row the caller created just now: nothing can have mirrored a row before it
     * existed, so these skip the lookup (a later attempt finds the row already there, and looks).
     */
    createdNow: string[];
  } | null;
  /**
   * Check that every recorded mirror transaction is still on the Stripe customer (a wake from `payconfirm
   * reconcile --fix`); one found missing is made again under a repair key and recorded. Null: trust the records.
   */
  verify?: { customerId: string; movements: BookedMovement[] } | null;
  /** Mark the PaymentIntent credited; null when its metadata already carries the mark. */
  mark: {
    ledgerEntryId: string;
    /** The credit's movement key: its mirror transaction, if made now, is named in the mark. */
    creditMovementKey: string;
    /** The credit's mirror transaction when it was recorded before (null: none, e.g. mirror off). */
    knownBalanceTransactionId: string | null;
  } | null;
}

export interface SyncStripeBooksResult {
  /** movement key → the balance transaction that mirrors it. */
  mirrored: Record<string, string>;
  /** movement key → the transaction made again because the recorded one was missing on Stripe. */
  repaired: Record<string, string>;
  marked: 'marked' | 'already_marked' | 'not_asked';
}

export interface MarkPaymentIntentInput extends CreditMark {
  paymentIntentId: string;
}

/**
 * The metadata on every mirror transaction: how a lookup finds it, and how people trace it to the ledger row
 * (`ledger_entries.idempotency_key`). Made from Stripe ids only, like the Idempotency-Key it goes with, so the
 * request is identical on every attempt and every run, even one that finds the ledger row written anew.
 */
export const mirrorMetadata = (paymentIntentId: string, m: Pick<BookedMovement, 'key'>): Record<string, string> => ({
  payment_intent: paymentIntentId,
  [`${OWN_METADATA_PREFIX}movement`]: m.key,
});

/** The balance transaction that mirrors a movement: the opposite amount, traceable metadata; identical on every attempt. */
export const mirrorParams = (paymentIntentId: string, m: BookedMovement): Stripe.CustomerCreateBalanceTransactionParams => ({
  amount: -m.amountMinor,
  currency: m.currency,
  description: `payconfirm ${m.kind.replace('_', ' ')} for ${paymentIntentId}`,
  metadata: mirrorMetadata(paymentIntentId, m),
});

/** The Idempotency-Key of a movement's mirror transaction: `credit-tx:{pi}` for the credit, `mirror-tx:{key}` for the rest. */
export const mirrorIdempotencyKey = (paymentIntentId: string, m: Pick<BookedMovement, 'key' | 'kind'>): string =>
  m.kind === 'payment_credit' ? stripeKeyForCreditTransaction(paymentIntentId) : stripeKeyForMirrorTransaction(m.key);

/**
 * Stripe's copy of a payment's books: the mirror transactions and the credit mark. Each write is idempotent on its
 * own: a POST under a deterministic Idempotency-Key whose parameters never change between attempts, and a lookup
 * before writing whenever an earlier attempt or run may have written already. Errors come out as the activity
 * failures Temporal should see (activities/stripe-activity-failure.ts).
 */
export function createStripeBooksSync({ stripe, pool, metrics }: StripeBooksSyncDeps) {
  const guardStopped = (guard: 'stripe_lookup' | 'stripe_idempotency') => metrics?.duplicatesStopped.inc({ guard });

  /**
   * POSTs under `baseKey`'s generations. A replayed 5xx means the request that spent that key has finished:
   * `appliedMeanwhile` — a lookup made now, after it — says whether it wrote anything; if not, the next
   * generation is tried. A fresh 5xx ends the attempt (retryable): Temporal backs off before the next.
   */
  async function postWithKeyGenerations<T extends Replayable>(
    what: string,
    baseKey: string,
    post: (idempotencyKey: string) => Promise<T>,
    appliedMeanwhile: () => Promise<T | null>,
  ): Promise<T> {
    for (let generation = 0; generation < MAX_KEY_GENERATIONS; generation++) {
      try {
        const result = await post(keyGeneration(baseKey, generation));
        if (result.lastResponse?.headers['idempotent-replayed'] === 'true') guardStopped('stripe_idempotency');
        return result;
      } catch (err) {
        if (!(isServerError(err) && isIdempotentReplay(err))) throw toActivityFailure(err, what);
      }
      const applied = await appliedMeanwhile();
      if (applied) {
        guardStopped('stripe_lookup');
        return applied;
      }
    }
    throw ApplicationFailure.nonRetryable(
      `${what}: ${MAX_KEY_GENERATIONS} generations of Idempotency-Key ${baseKey} were each answered with a stored 5xx that applied nothing`,
      FAILURE_TYPES.stripeKeyGenerationsExhausted,
    );
  }

  /** The customer's balance transaction mirroring `m`, searched newest first back to the ledger row's time. */
  async function findMirrorTransaction(customerId: string, paymentIntentId: string, m: BookedMovement): Promise<Stripe.CustomerBalanceTransaction | null> {
    const since = Date.parse(m.createdAt) / 1000 - MIRROR_LOOKUP_CLOCK_SLACK_SECONDS;
    try {
      for await (const tx of stripe.customers.listBalanceTransactions(customerId, { limit: 100 })) {
        if (tx.metadata?.[`${OWN_METADATA_PREFIX}movement`] === m.key && tx.metadata?.payment_intent === paymentIntentId) return tx;
        if (tx.created < since) return null;
      }
      return null;
    } catch (err) {
      throw toActivityFailure(err, `list balance transactions of ${customerId}`);
    }
  }

  /** The customer's balance transactions naming the PaymentIntent, newest first, back to `sinceMs` (less the clock slack). */
  async function listTransactionsNaming(customerId: string, paymentIntentId: string, sinceMs: number): Promise<Stripe.CustomerBalanceTransaction[]> {
    const since = sinceMs / 1000 - MIRROR_LOOKUP_CLOCK_SLACK_SECONDS;
    const found: Stripe.CustomerBalanceTransaction[] = [];
    try {
      for await (const tx of stripe.customers.listBalanceTransactions(customerId, { limit: 100 })) {
        if (tx.created < since) break;
        if (tx.metadata?.payment_intent === paymentIntentId) found.push(tx);
      }
      return found;
    } catch (err) {
      throw toActivityFailure(err, `list balance transactions of ${customerId}`);
    }
  }

  async function mirrorOne(paymentIntentId: string, customerId: string, m: BookedMovement, mayExist: boolean): Promise<string> {
    if (mayExist) {
      const found = await findMirrorTransaction(customerId, paymentIntentId, m);
      if (found) {
        guardStopped('stripe_lookup');
        return found.id;
      }
    }
    const params = mirrorParams(paymentIntentId, m);
    const tx = await postWithKeyGenerations<Replayable & Stripe.CustomerBalanceTransaction>(
      `mirror ${m.key} on customer ${customerId}`,
      mirrorIdempotencyKey(paymentIntentId, m),
      (idempotencyKey) => stripe.customers.createBalanceTransaction(customerId, params, { idempotencyKey }),
      () => findMirrorTransaction(customerId, paymentIntentId, m),
    );
    return tx.id;
  }

  async function retrievePaymentIntent(paymentIntentId: string): Promise<Stripe.PaymentIntent> {
    try {
      return await stripe.paymentIntents.retrieve(paymentIntentId);
    } catch (err) {
      throw toActivityFailure(err, `retrieve ${paymentIntentId}`);
    }
  }

  /** Records on the PaymentIntent (payconfirm_… metadata) that it was credited, with the ids written. */
  async function markPaymentIntentCredited(input: MarkPaymentIntentInput): Promise<'marked' | 'already_marked'> {
    const metadata = creditMarkMetadata(input);
    let foundMarked = false;
    await postWithKeyGenerations<Replayable & Stripe.PaymentIntent>(
      `mark ${input.paymentIntentId} credited`,
      stripeKeyForCreditMark(input.paymentIntentId),
      (idempotencyKey) => stripe.paymentIntents.update(input.paymentIntentId, { metadata }, { idempotencyKey }),
      async () => {
        const pi = await retrievePaymentIntent(input.paymentIntentId);
        foundMarked = carriesCreditMark(pi.metadata, input);
        return foundMarked ? pi : null;
      },
    );
    return foundMarked ? 'already_marked' : 'marked';
  }

  return {
    /**
     * Brings Stripe's copy of the books up to the ledger: one customer balance transaction per movement still
     * unmirrored (each recorded in Postgres, ledger_mirror, as soon as Stripe has it, so a later attempt or run
     * skips it), then the credit mark on the PaymentIntent when it lacks it. A plain credit costs two writes.
     */
    async syncStripeBooks(input: SyncStripeBooksInput): Promise<SyncStripeBooksResult> {
      const mirrored: Record<string, string> = {};
      for (const m of input.mirror?.movements ?? []) {
        const mirror = input.mirror!;
        const mayExist = !mirror.createdNow.includes(m.key);
        const balanceTransactionId = await mirrorOne(input.paymentIntentId, mirror.customerId, m, mayExist);
        await recordMirror(pool, {
          movementKey: m.key,
          ledgerEntryId: m.ledgerEntryId,
          stripeCustomerId: mirror.customerId,
          balanceTransactionId,
          amountMinor: -m.amountMinor,
          currency: m.currency,
        });
        mirrored[m.key] = balanceTransactionId;
      }
      const repaired: Record<string, string> = {};
      if (input.verify) {
        const { customerId, movements } = input.verify;
        const oldest = movements.reduce((min, m) => Math.min(min, Date.parse(m.createdAt)), Date.now());
        const onStripe = await listTransactionsNaming(customerId, input.paymentIntentId, oldest);
        for (const m of movements) {
          if (m.balanceTransactionId === null || onStripe.some((t) => t.id === m.balanceTransactionId)) continue;
          const lost = m.balanceTransactionId;
          const params = mirrorParams(input.paymentIntentId, m);
          const tx = await postWithKeyGenerations<Replayable & Stripe.CustomerBalanceTransaction>(
            `repair the mirror of ${m.key} on customer ${customerId}`,
            stripeKeyForMirrorRepair(m.key, lost),
            (idempotencyKey) => stripe.customers.createBalanceTransaction(customerId, params, { idempotencyKey }),
            async () => null,
          );
          await recordMirrorRepair(pool, { movementKey: m.key, lostBalanceTransactionId: lost, balanceTransactionId: tx.id });
          repaired[m.key] = tx.id;
        }
      }
      let marked: SyncStripeBooksResult['marked'] = 'not_asked';
      if (input.mark) {
        const balanceTransactionId = mirrored[input.mark.creditMovementKey] ?? input.mark.knownBalanceTransactionId;
        marked = await markPaymentIntentCredited({ paymentIntentId: input.paymentIntentId, ledgerEntryId: input.mark.ledgerEntryId, balanceTransactionId });
      }
      return { mirrored, repaired, marked };
    },
  };
}

export type StripeBooksSync = ReturnType<typeof createStripeBooksSync>;
