import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyLedger } from '../src/db/ledger-verify.js';
import { queryPaymentState, sendOperatorUpdate } from '../src/temporal/payment-operations.js';
import { type FakeStripe } from './support/fake-stripe/index.js';
import { eventually } from './support/eventually.js';
import { moneyFor, newCustomer, newPaymentIntent } from './support/payment-fixtures.js';
import { callApi, startTestApi, type TestApi } from './support/test-api.js';
import { startPaymentStack, type PaymentStack } from './support/payment-stack.js';
import { stripeClientFor, type RunningWorkers, type TestContext } from './support/test-context.js';

let stack: PaymentStack;
let ctx: TestContext;
let fake: FakeStripe;
let workers: RunningWorkers;
let api: TestApi;
/** Answers 202 quickly: for the cases that must see `pending`. */
let quickApi: TestApi;

beforeAll(async () => {
  stack = await startPaymentStack('confirm', { confirmWaitMs: 30_000 });
  ({ ctx, fake, workers, api } = stack);
  quickApi = await startTestApi(ctx, { stripe: stripeClientFor(fake.url), confirmWaitMs: 1_500 });
});
afterAll(async () => {
  await api?.close();
  await quickApi?.close();
  await workers?.stop();
  await fake?.close();
  await ctx?.close();
});

const confirmVia = (target: TestApi, apiKey: string, paymentIntentId: unknown) =>
  callApi(target.url, 'POST', '/billing/confirm_payment', { apiKey, body: { payment_intent_id: paymentIntentId } });
const confirm = (apiKey: string, paymentIntentId: unknown) => confirmVia(api, apiKey, paymentIntentId);

describe('POST /billing/confirm_payment (real Temporal, Postgres, fake Stripe through the SDK)', () => {
  it('credits the ledger, the Stripe customer balance and marks the PaymentIntent, once', async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { amount: 4_200, currency: 'usd' });

    const first = await confirm(c.apiKey, pi);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ status: 'credited', payment_intent_id: pi, account_id: c.accountId, amount_minor: 4_200, currency: 'usd' });

    const again = await confirm(c.apiKey, pi);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'already_credited', ledger_entry_id: first.body.ledger_entry_id });

    const money = await moneyFor(ctx, fake, pi, c.customerId);
    expect(money.ledgerCredits).toEqual([{ id: first.body.ledger_entry_id, amount_minor: 4_200 }]);
    expect(money.stripeCredits).toHaveLength(1);
    expect(money.stripeCredits[0]).toMatchObject({ amount: -4_200, currency: 'usd' });
    expect(money.paymentIntent?.metadata).toMatchObject({
      payconfirm_credited: 'true',
      payconfirm_ledger_entry_id: first.body.ledger_entry_id,
      payconfirm_balance_transaction_id: money.stripeCredits[0]!.id,
    });
    const balance = await callApi(api.url, 'GET', '/accounts/me/balance', { apiKey: c.apiKey });
    expect(balance.body).toEqual({ account_id: c.accountId, balances: [{ currency: 'usd', amount_minor: 4_200, held_minor: 0, available_minor: 4_200 }] });
    // Deterministic keys on both Stripe POSTs.
    expect(fake.requestsTo('POST', /balance_transactions$/).map((r) => r.idempotencyKey)).toEqual([`credit-tx:${pi}`]);
    expect(fake.requestsTo('POST', new RegExp(`payment_intents/${pi}$`)).map((r) => r.idempotencyKey)).toEqual([`credit-mark:${pi}`]);
  });

  it('50 concurrent confirms: one workflow, one ledger entry, one Stripe balance transaction, 50 equal answers', async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { amount: 10_000 });
    const answers = await Promise.all(Array.from({ length: 50 }, () => confirm(c.apiKey, pi)));

    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200));
    expect(new Set(answers.map((a) => a.body.ledger_entry_id)).size).toBe(1);
    const money = await moneyFor(ctx, fake, pi, c.customerId);
    expect(money.ledgerCredits).toHaveLength(1);
    expect(money.stripeCredits).toHaveLength(1);
    const runs = [];
    for await (const w of ctx.client.workflow.list({ query: `WorkflowId = '${pi}'` })) runs.push(w.runId);
    expect(runs).toHaveLength(1);
  });

  it('a PaymentIntent of another account answers 404, as an unknown one does, and credits nothing', async () => {
    const owner = await newCustomer(ctx, fake);
    const intruder = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, owner.customerId);
    const res = await confirm(intruder.apiKey, pi);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('payment_intent_not_found');
    const money = await moneyFor(ctx, fake, pi, owner.customerId);
    expect(money.ledgerCredits).toHaveLength(0);
    expect(money.stripeCredits).toHaveLength(0);
    const balance = await callApi(api.url, 'GET', '/accounts/me/balance', { apiKey: intruder.apiKey });
    expect(balance.body.balances).toEqual([]);
  });

  it('processing: 202 pending with a poll URL, then credited once it succeeds', async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { status: 'processing', amount: 3_000 });
    const pending = await confirmVia(quickApi, c.apiKey, pi);
    expect(pending.status).toBe(202);
    expect(pending.body).toMatchObject({ status: 'pending', stage: 'awaiting_payment', poll_url: `/billing/payments/${pi}` });
    expect(pending.headers.get('location')).toBe(`/billing/payments/${pi}`);
    expect(Number(pending.headers.get('retry-after'))).toBeGreaterThan(0);
    fake.setPaymentIntentStatus(pi, 'succeeded');
    // No webhook here: the workflow's timer fallback re-reads the PaymentIntent.
    const last = await eventually(
      async () => (await callApi(api.url, 'GET', `/billing/payments/${pi}`, { apiKey: c.apiKey })).body,
      (body) => body.status === 'credited',
      { description: 'payment credited' },
    );
    expect(last).toMatchObject({ status: 'credited', amount_minor: 3_000 });
    expect((await moneyFor(ctx, fake, pi, c.customerId)).ledgerCredits).toHaveLength(1);
  });

  it('answers 409 not_payable for a canceled PaymentIntent, 404 for an unknown one, 400 for a malformed id, 401 without a key', async () => {
    const c = await newCustomer(ctx, fake);
    const canceled = newPaymentIntent(fake, c.customerId, { status: 'canceled' });
    const notPayable = await confirm(c.apiKey, canceled);
    expect(notPayable.status).toBe(409);
    expect(notPayable.body).toMatchObject({ status: 'not_payable', payment_intent_status: 'canceled', error: { code: 'not_payable' } });

    const unknown = await confirm(c.apiKey, 'pi_doesnotexist123');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('payment_intent_not_found');

    for (const bad of ['ch_123', 'pi_', '', 42, 'pi_x; DROP TABLE']) expect((await confirm(c.apiKey, bad)).status).toBe(400);
    expect((await callApi(api.url, 'POST', '/billing/confirm_payment', { apiKey: c.apiKey, rawBody: '{"payment_intent_id":' })).status).toBe(400);

    const noKey = await callApi(api.url, 'POST', '/billing/confirm_payment', { body: { payment_intent_id: canceled } });
    expect(noKey.status).toBe(401);
    expect(noKey.body.error).toMatchObject({ code: 'unauthenticated' });
    expect(typeof noKey.body.error.request_id).toBe('string');
    const badKey = await confirm('pcf_' + 'x'.repeat(43), canceled);
    expect(badKey.status).toBe(401);
  });

  it("an operator's reject stands: confirming a rejected payment again answers 409 payment_rejected and credits nothing", async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { amount: 0 }); // amount_received 0: an anomaly → needs_attention
    const pending = await confirmVia(quickApi, c.apiKey, pi);
    expect(pending.status).toBe(202);
    await eventually(() => queryPaymentState(ctx.client, pi), (s) => s.stage === 'needs_attention', { description: 'needs_attention' });
    await sendOperatorUpdate(ctx.client, pi, { kind: 'reject', input: { reason: 'zero-amount payment' } });
    for (const answer of [await confirm(c.apiKey, pi), await confirm(c.apiKey, pi)]) {
      expect(answer.status).toBe(409);
      expect(answer.body).toMatchObject({ status: 'rejected', error: { code: 'payment_rejected' } });
    }
    expect((await moneyFor(ctx, fake, pi, c.customerId)).ledgerCredits).toHaveLength(0);
  });

  it('leaves the ledger consistent (invariants 1 and 2)', async () => {
    expect(await verifyLedger(ctx.pool)).toMatchObject({ ok: true });
  });
});
