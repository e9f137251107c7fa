import { findAccountByStripeCustomer } from '../src/db/accounts.js';
import { creditPayment } from '../src/db/ledger.js';
import type { Pool } from '../src/db/pool.js';
import { stripeKeyForCreditMark, stripeKeyForCreditTransaction } from '../src/domain/idempotency-keys.js';
import type { StripeClient } from '../src/stripe/stripe-client.js';

/**
 * What the benchmarks' naive baseline does for one payment, inline: read the PaymentIntent, credit the ledger,
 * create the customer balance transaction, mark the PaymentIntent — three Stripe requests, no orchestration.
 */
export async function creditInline(pool: Pool, stripe: StripeClient, paymentIntentId: string): Promise<'credited' | 'not_payable' | 'no_account'> {
  const pi = await stripe.paymentIntents.retrieve(paymentIntentId);
  if (pi.status !== 'succeeded') return 'not_payable';
  const account = await findAccountByStripeCustomer(pool, pi.customer as string);
  if (!account) return 'no_account';
  const { entry } = await creditPayment(pool, { accountId: account.id, paymentIntentId: pi.id, amountMinor: pi.amount_received, currency: pi.currency });
  const tx = await stripe.customers.createBalanceTransaction(
    pi.customer as string,
    { amount: -pi.amount_received, currency: pi.currency, metadata: { payment_intent: pi.id } },
    { idempotencyKey: stripeKeyForCreditTransaction(pi.id) },
  );
  await stripe.paymentIntents.update(
    pi.id,
    { metadata: { credited: 'true', ledger_entry_id: entry.id, balance_transaction_id: tx.id } },
    { idempotencyKey: stripeKeyForCreditMark(pi.id) },
  );
  return 'credited';
}
