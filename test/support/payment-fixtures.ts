import { createAccount } from '../../src/db/accounts.js';
import { CREDIT_TAG_KEY, CREDIT_TAG_VALUE } from '../../src/domain/credit-policy.js';
import type { FakeStripe } from './fake-stripe/index.js';
import { mirrorOf } from './payment-books.js';
import type { TestContext } from './test-context.js';

export interface Customer {
  customerId: string;
  accountId: string;
  apiKey: string;
}

/** A Stripe customer in the fake, linked to a payconfirm account with an API key. */
export async function newCustomer(ctx: TestContext, fake: FakeStripe, currency?: string): Promise<Customer> {
  const customer = fake.createCustomer(currency ? { currency } : {});
  const { account, apiKey } = await createAccount(ctx.pool, { stripeCustomerId: customer.id, name: `test ${customer.id}` });
  return { customerId: customer.id, accountId: account.id, apiKey };
}

/** Metadata of a credit purchase (what a checkout sets through payment_intent_data.metadata). */
export const CREDIT_PURCHASE_METADATA = { [CREDIT_TAG_KEY]: CREDIT_TAG_VALUE };

/** A PaymentIntent in the fake; a credit purchase (tagged) unless `metadata` says otherwise. */
export function newPaymentIntent(
  fake: FakeStripe,
  customerId: string | null,
  opts: { amount?: number; currency?: string; status?: Parameters<FakeStripe['createPaymentIntent']>[0]['status']; metadata?: Record<string, string> } = {},
): string {
  return fake.createPaymentIntent({
    amount: opts.amount ?? 2_500,
    currency: opts.currency ?? 'usd',
    customer: customerId,
    status: opts.status ?? 'succeeded',
    metadata: opts.metadata ?? CREDIT_PURCHASE_METADATA,
  }).id;
}

/** Rows and Stripe objects that record money for a PaymentIntent: what every exactly-once test counts. */
export async function moneyFor(ctx: TestContext, fake: FakeStripe, paymentIntentId: string, customerId: string) {
  const { rows } = await ctx.pool.query<{ id: string; amount_minor: number }>(
    "SELECT id, amount_minor FROM ledger_entries WHERE payment_intent_id = $1 AND kind = 'payment_credit'",
    [paymentIntentId],
  );
  const stripeCredits = mirrorOf(fake, customerId, paymentIntentId);
  return { ledgerCredits: rows, stripeCredits, paymentIntent: fake.getPaymentIntent(paymentIntentId) };
}
