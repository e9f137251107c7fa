import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeStripe } from './support/fake-stripe/index.js';
import { expectBooksFollowStripe, movementsOf, paymentSettles } from './support/payment-books.js';
import { newCustomer, newPaymentIntent } from './support/payment-fixtures.js';
import { chargeRefundedEvent, deliver, inboxRowReaches, paymentIntentEvent, startWebhookStack, type WebhookStack } from './support/stripe-webhooks.js';
import { callApi } from './support/test-api.js';
import { createTestContext, stripeClientFor, type TestContext } from './support/test-context.js';

/**
 * CREDIT_PAYMENT_INTENTS=all with STRIPE_BALANCE_MIRROR=off: an account used for nothing but credits, spent inside
 * the product. Every succeeded PaymentIntent is credited, untagged ones too; the ledger follows refunds; not one
 * customer balance transaction is written.
 */
let ctx: TestContext;
let stack: WebhookStack;
let fake: FakeStripe;

beforeAll(async () => {
  ctx = await createTestContext('books_mirror_off');
  stack = await startWebhookStack(ctx, { moneyPolicy: { creditPaymentIntents: 'all', balanceMirror: 'off' } });
  ({ fake } = stack);
});
afterAll(async () => {
  await stack?.close();
  await ctx?.close();
});

describe('CREDIT_PAYMENT_INTENTS=all, STRIPE_BALANCE_MIRROR=off', () => {
  it('an untagged payment is credited and refunded in the ledger only; the PaymentIntent is still marked', async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { amount: 3_300, metadata: {} });
    const paid = paymentIntentEvent(fake, 'payment_intent.succeeded', pi);
    expect((await deliver(stack.api.url, paid)).status).toBe(200);
    await inboxRowReaches(ctx.pool, paid.id, 'processed');
    await paymentSettles(ctx, pi);

    fake.refundPaymentIntent(pi, 300);
    const refunded = await chargeRefundedEvent(fake, stripeClientFor(fake.url), pi);
    expect((await deliver(stack.api.url, refunded)).status).toBe(200);
    await inboxRowReaches(ctx.pool, refunded.id, 'processed');
    await paymentSettles(ctx, pi);

    const { ledger, netMinor } = await expectBooksFollowStripe(ctx, fake, pi, { customerId: c.customerId, mirror: 'none' });
    expect(movementsOf(ledger)).toEqual([['payment_credit', 3_300], ['refund_debit', -300]]);
    expect(netMinor).toBe(3_000);
    expect(fake.balanceTransactions()).toEqual([]);
    expect(fake.requestsTo('POST', /\/balance_transactions$/)).toEqual([]);
    expect(fake.getPaymentIntent(pi)?.metadata).toMatchObject({ payconfirm_credited: 'true', payconfirm_ledger_entry_id: ledger[0]!.id });
    expect(fake.getPaymentIntent(pi)?.metadata).not.toHaveProperty('payconfirm_balance_transaction_id');

    const balance = await callApi(stack.api.url, 'GET', '/accounts/me/balance', { apiKey: c.apiKey });
    expect(balance.body).toMatchObject({ balances: [{ currency: 'usd', amount_minor: 3_000 }] });
  });
});
