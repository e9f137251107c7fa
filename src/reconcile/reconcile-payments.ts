import type { Pool } from '../db/pool.js';
import { loadPaymentBooks } from '../db/payment-books.js';
import { compareBooks, type BooksComparison, type StripeMirrorTransaction } from '../domain/books-drift.js';
import type { MoneyPolicy } from '../domain/credit-policy.js';
import { OWN_METADATA_PREFIX } from '../domain/credit-policy.js';
import { readPaymentTruth, truthHintsOf } from '../stripe/read-payment-truth.js';
import type { StripeClient } from '../stripe/stripe-client.js';
import { signalPaymentWithStart, type PaymentWorkflowStarter } from '../temporal/payment-workflow-client.js';
import { RECONCILE_NOTICE_TYPE } from '../../workflows/payment-messages.js';

/**
 * `payconfirm reconcile`: per PaymentIntent, a fresh read of Stripe's truth, the books in Postgres and the
 * mirror transactions on the Stripe customer, compared by `compareBooks` (src/domain/books-drift.ts), which
 * decides with the workflow's own planPayment. `--fix` only wakes the payment workflow: it converges the books
 * the same way a Stripe event would.
 */
export interface ReconcileDeps {
  pool: Pool;
  stripe: StripeClient;
  policy: MoneyPolicy;
}

export async function reconcilePayment(deps: ReconcileDeps, paymentIntentId: string): Promise<BooksComparison> {
  const books = await loadPaymentBooks(deps.pool, paymentIntentId);
  const truth = await readPaymentTruth(deps.stripe, paymentIntentId, truthHintsOf(books));
  const customer = books.accountOfRecord?.stripeCustomerId;
  const mirror = customer && deps.policy.balanceMirror === 'on' && books.decisions.mirrorSkipped === null ? await mirrorTransactions(deps.stripe, customer, paymentIntentId) : null;
  return compareBooks(truth, books, deps.policy, mirror);
}

/** Every balance transaction of the customer that names the PaymentIntent (the whole list: reconcile is offline work). */
async function mirrorTransactions(stripe: StripeClient, customerId: string, paymentIntentId: string): Promise<StripeMirrorTransaction[]> {
  const found: StripeMirrorTransaction[] = [];
  for await (const tx of stripe.customers.listBalanceTransactions(customerId, { limit: 100 })) {
    if (tx.metadata?.payment_intent !== paymentIntentId) continue;
    found.push({ id: tx.id, amountMinor: tx.amount, movementKey: tx.metadata?.[`${OWN_METADATA_PREFIX}movement`] ?? null });
  }
  return found;
}

/** Wakes the payment workflow (started if none runs) to converge its books; it also re-checks the mirror on Stripe. */
export async function wakePaymentToConverge(starter: PaymentWorkflowStarter, paymentIntentId: string, at: Date): Promise<void> {
  await signalPaymentWithStart(starter, paymentIntentId, { eventId: `reconcile_${at.getTime()}`, eventType: RECONCILE_NOTICE_TYPE });
}
