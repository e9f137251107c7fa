import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeStripe } from './support/fake-stripe/index.js';
import { expectBooksFollowStripe, movementsOf, paymentSettles } from './support/payment-books.js';
import { newCustomer, newPaymentIntent, type Customer } from './support/payment-fixtures.js';
import { startWebhookStack, type WebhookStack } from './support/stripe-webhooks.js';
import { clientLosingFirstAnswer } from './support/lossy-client.js';
import { callApi } from './support/test-api.js';
import { createTestContext, type TestContext } from './support/test-context.js';

/**
 * POST /billing/refunds: a refund through Stripe under an Idempotency-Key derived from the caller's, then the books
 * converge through the payment workflow exactly as for a refund made in the Stripe Dashboard.
 */
let ctx: TestContext;
let stack: WebhookStack;
let fake: FakeStripe;

beforeAll(async () => {
  ctx = await createTestContext('api_refunds');
  stack = await startWebhookStack(ctx);
  ({ fake } = stack);
});
afterAll(async () => {
  await stack?.close();
  await ctx?.close();
});

const refund = (apiKey: string, key: string | null, body: unknown) =>
  callApi(stack.api.url, 'POST', '/billing/refunds', { apiKey, body, headers: key === null ? {} : { 'idempotency-key': key } });

async function creditedPayment(amount: number): Promise<{ c: Customer; pi: string }> {
  const c = await newCustomer(ctx, fake);
  const pi = newPaymentIntent(fake, c.customerId, { amount });
  expect((await callApi(stack.api.url, 'POST', '/billing/confirm_payment', { apiKey: c.apiKey, body: { payment_intent_id: pi } })).body).toMatchObject({ status: 'credited' });
  await paymentSettles(ctx, pi);
  return { c, pi };
}

const stripeRefundsOf = (pi: string) => fake.requestsTo('POST', '/v1/refunds').filter((r) => r.status === 200 && !r.replayed && r.body?.payment_intent === pi);

describe('POST /billing/refunds', () => {
  it('refunds through Stripe once per key, and both books follow as for a Dashboard refund', async () => {
    const { c, pi } = await creditedPayment(5_000);
    const first = await refund(c.apiKey, 'refund-1', { payment_intent_id: pi, amount_minor: 1_500 });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ refund: { id: expect.stringMatching(/^re_/), payment_intent_id: pi, amount_minor: 1_500, currency: 'usd', status: 'succeeded' } });
    const replay = await refund(c.apiKey, 'refund-1', { payment_intent_id: pi, amount_minor: 1_500 });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(first.body);
    expect(stripeRefundsOf(pi)).toHaveLength(1);
    expect(fake.requestsTo('POST', '/v1/refunds')[0]!.idempotencyKey).toMatch(/^refund:[0-9a-f-]{36}:[0-9a-f]{32}$/);

    await paymentSettles(ctx, pi);
    const { ledger } = await expectBooksFollowStripe(ctx, fake, pi, { customerId: c.customerId });
    expect(movementsOf(ledger)).toEqual([['payment_credit', 5_000], ['refund_debit', -1_500]]);
  });

  it("the client's refund(): an answer lost on the way back is retried under the same key — one Stripe refund", async () => {
    const { c, pi } = await creditedPayment(3_000);
    const { client, keys } = clientLosingFirstAnswer(stack.api.url, c.apiKey);
    const result = await client.refund({ paymentIntentId: pi });
    expect(result).toMatchObject({ paymentIntentId: pi, amountMinor: 3_000, currency: 'usd' });
    expect(keys).toHaveLength(2);
    expect(keys[1]).toBe(keys[0]);
    expect(stripeRefundsOf(pi)).toHaveLength(1);
    await paymentSettles(ctx, pi);
    const { netMinor } = await expectBooksFollowStripe(ctx, fake, pi, { customerId: c.customerId });
    expect(netMinor).toBe(0);
  });

  it('refused: more than is left (409, stored), another account\'s or an uncredited payment (404), bad input (400, key not burned)', async () => {
    const { c, pi } = await creditedPayment(2_000);
    const stranger = await newCustomer(ctx, fake);
    const uncredited = newPaymentIntent(fake, c.customerId, { amount: 900 });

    const tooMuch = await refund(c.apiKey, 'too-much', { payment_intent_id: pi, amount_minor: 2_001 });
    expect(tooMuch).toMatchObject({ status: 409, body: { error: { code: 'refund_exceeds_remaining' } } });
    expect((await refund(c.apiKey, 'too-much', { payment_intent_id: pi, amount_minor: 2_001 })).headers.get('idempotent-replayed')).toBe('true');
    expect((await refund(stranger.apiKey, 'theirs', { payment_intent_id: pi })).status).toBe(404);
    expect((await refund(c.apiKey, 'uncredited', { payment_intent_id: uncredited })).status).toBe(404);
    for (const body of [{}, { payment_intent_id: 'ch_123' }, { payment_intent_id: pi, amount_minor: 0 }, { payment_intent_id: pi, amount_minor: -1 }, { payment_intent_id: pi, extra: 1 }]) {
      const r = await refund(c.apiKey, 'bad-1', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error).toMatchObject({ code: 'invalid_refund' });
    }
    expect((await refund(c.apiKey, null, { payment_intent_id: pi })).body.error).toMatchObject({ code: 'idempotency_key_required' });
    expect(stripeRefundsOf(pi)).toEqual([]);
    const ok = await refund(c.apiKey, 'bad-1', { payment_intent_id: pi, amount_minor: 500 });
    expect(ok.status).toBe(201);
  });
});
