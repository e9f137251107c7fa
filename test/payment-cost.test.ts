import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeStripe } from './support/fake-stripe/index.js';
import { paymentSettles } from './support/payment-books.js';
import { newCustomer, newPaymentIntent, type Customer } from './support/payment-fixtures.js';
import { deliver, inboxRowReaches, paymentIntentEvent, startWebhookStack, type WebhookStack } from './support/stripe-webhooks.js';
import { eventually } from './support/eventually.js';
import { terminateRunning } from './support/operator-fixtures.js';
import { callApi, startTestApi } from './support/test-api.js';
import { createTestContext, stripeClientFor, type TestContext } from './support/test-context.js';

/**
 * What one credited payment costs, counted (not timed): Stripe requests — the account's rate limit makes them the
 * real throughput — and payment-workflow history events — Temporal's bill and the dev server's throughput.
 * Budgets: ≤ 3 Stripe requests (one read with the charge expanded, two writes) on the webhook path and on the
 * confirm path, the same for a customer with 450 earlier balance transactions; ≤ 10 history events since the pass
 * runs as a local activity (9 by confirm: started, one workflow task, the patch and pass markers, two stage
 * upserts, completed; the webhook's signal is the 10th). It was 13 with the pass on the -stripe queue.
 */
const MAX_STRIPE_REQUESTS = 3;
const MAX_HISTORY_EVENTS = 10;

let ctx: TestContext;
let stack: WebhookStack;
let fake: FakeStripe;

beforeAll(async () => {
  ctx = await createTestContext('payment_cost');
  stack = await startWebhookStack(ctx);
  ({ fake } = stack);
});
afterAll(async () => {
  if (ctx) await terminateRunning(ctx);
  await stack?.close();
  await ctx?.close();
});

/** Runs `pay` and returns the Stripe requests made meanwhile (this file runs one payment at a time). */
async function stripeRequestsOf(pay: () => Promise<void>) {
  const first = fake.requests.length;
  await pay();
  return fake.requests.slice(first).map((r) => `${r.method} ${r.path.replace(/(pi|cus)_[A-Za-z0-9]+/g, '$1_…')}`);
}

async function historyLength(pi: string, path: string): Promise<number> {
  const events = (await ctx.client.workflow.getHandle(pi).describe()).historyLength;
  console.info(`[payment-cost] ${path}: ${events} history events`);
  return events;
}

async function byWebhook(c: Customer, pi: string): Promise<void> {
  const event = paymentIntentEvent(fake, 'payment_intent.succeeded', pi);
  expect((await deliver(stack.api.url, event)).status).toBe(200);
  await inboxRowReaches(ctx.pool, event.id, 'processed');
  await paymentSettles(ctx, pi);
  expect((await callApi(stack.api.url, 'GET', `/billing/payments/${pi}`, { apiKey: c.apiKey })).body).toMatchObject({ status: 'credited' });
}

const THREE_REQUESTS = ['GET /v1/payment_intents/pi_…', 'POST /v1/customers/cus_…/balance_transactions', 'POST /v1/payment_intents/pi_…'];

describe('the cost of one credited payment', () => {
  it(`by webhook: ≤ ${MAX_STRIPE_REQUESTS} Stripe requests, ≤ ${MAX_HISTORY_EVENTS} history events`, async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId);
    const requests = await stripeRequestsOf(() => byWebhook(c, pi));
    expect(requests).toEqual(THREE_REQUESTS);
    expect(requests.length).toBeLessThanOrEqual(MAX_STRIPE_REQUESTS);
    expect(await historyLength(pi, 'webhook')).toBeLessThanOrEqual(MAX_HISTORY_EVENTS);
  });

  it(`by confirm: ≤ ${MAX_STRIPE_REQUESTS} Stripe requests (the API's read serves the workflow), ≤ ${MAX_HISTORY_EVENTS} history events`, async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId);
    const requests = await stripeRequestsOf(async () => {
      const answer = await callApi(stack.api.url, 'POST', '/billing/confirm_payment', { apiKey: c.apiKey, body: { payment_intent_id: pi } });
      expect(answer.body).toMatchObject({ status: 'credited' });
      await paymentSettles(ctx, pi);
    });
    expect(requests).toEqual(THREE_REQUESTS);
    expect(await historyLength(pi, 'confirm')).toBeLessThanOrEqual(MAX_HISTORY_EVENTS);
    // Polling a credited payment asks Stripe nothing: the ledger answers.
    const polls = await stripeRequestsOf(async () => {
      for (let i = 0; i < 5; i++) expect((await callApi(stack.api.url, 'GET', `/billing/payments/${pi}`, { apiKey: c.apiKey })).status).toBe(200);
    });
    expect(polls).toEqual([]);
  });

  it('flat in the customer\'s history: a customer with 450 earlier balance transactions costs the same', async () => {
    const c = await newCustomer(ctx, fake);
    const stripe = stripeClientFor(fake.url);
    for (let i = 0; i < 450; i++) {
      await stripe.customers.createBalanceTransaction(c.customerId, { amount: -100, currency: 'usd', description: `earlier top-up ${i}` });
    }
    const pi = newPaymentIntent(fake, c.customerId);
    const requests = await stripeRequestsOf(() => byWebhook(c, pi));
    expect(requests).toEqual(THREE_REQUESTS);
    expect(await historyLength(pi, '450 earlier transactions')).toBeLessThanOrEqual(MAX_HISTORY_EVENTS);
  });

  it("the API's own Stripe reads have a budget: over it 429 with Retry-After; polls of a running payment ask Stripe nothing", async () => {
    const budgeted = await startTestApi(ctx, { stripe: stripeClientFor(fake.url), stripeReadsPerSecond: 1, confirmWaitMs: 300 });
    try {
      const c = await newCustomer(ctx, fake);
      const waiting = newPaymentIntent(fake, c.customerId, { status: 'processing' });
      const fresh = newPaymentIntent(fake, c.customerId);
      const confirmAt = (pi: string) => callApi(budgeted.url, 'POST', '/billing/confirm_payment', { apiKey: c.apiKey, body: { payment_intent_id: pi } });

      expect((await confirmAt(waiting)).status).toBe(202); // spends the one read of this second
      const refused = await confirmAt(fresh);
      expect(refused.status).toBe(429);
      expect(refused.body.error).toMatchObject({ code: 'stripe_read_budget_exhausted' });
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

      await eventually(() => callApi(budgeted.url, 'GET', `/billing/payments/${waiting}`, { apiKey: c.apiKey }), (r) => r.body.stage === 'awaiting_payment');
      // Ten polls at once under a budget of one read a second: each would be a 429 if it read Stripe.
      const polls = await Promise.all(Array.from({ length: 10 }, () => callApi(budgeted.url, 'GET', `/billing/payments/${waiting}`, { apiKey: c.apiKey })));
      for (const poll of polls) expect(poll).toMatchObject({ status: 202, body: { status: 'pending', stage: 'awaiting_payment' } });
      expect(await eventually(() => confirmAt(fresh), (r) => r.status !== 429)).toMatchObject({ status: 200, body: { status: 'credited' } });
    } finally {
      await budgeted.close();
    }
  });
});
