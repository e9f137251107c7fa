import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, revokeApiKey } from '../src/db/api-keys.js';
import { createPool, type Pool } from '../src/db/pool.js';
import { createMetrics } from '../src/metrics.js';
import { registerStateGauges, STATE_GAUGE_NAMES } from '../src/state-gauges.js';
import { signalPaymentWithStart } from '../src/temporal/payment-workflow-client.js';
import { runPayconfirm } from './support/cli-process.js';
import { startFakeStripe, type FakeStripe } from './support/fake-stripe/index.js';
import { eventually } from './support/eventually.js';
import { movementsOf, ledgerOf, paymentSettles } from './support/payment-books.js';
import { newCustomer, newPaymentIntent, type Customer } from './support/payment-fixtures.js';
import { createTestContext, startTestWorkers, stripeClientFor, type RunningWorkers, type TestContext } from './support/test-context.js';
import { callApi, startTestApi, type TestApi } from './support/test-api.js';


/**
 * Invariants 11 and 12 against hostile callers, on the real stack (Temporal dev server, Postgres, the stateful fake
 * Stripe): an API caller never takes a balance below zero (they cannot take back money they spent), and one
 * account's load never takes the API from another. The API gets its own pool of 10, as in production.
 */
const API_POOL_SIZE = 10;
/** Small per-account budgets for the flood tests' own API, so a flood reaches them in a few requests (defaults: src/config.ts). */
const FLOOD_BUDGETS = { status: { perMinute: 20 }, stripeReads: { perMinute: 15 } };

let ctx: TestContext;
let fake: FakeStripe;
let workers: RunningWorkers;
let apiPool: Pool;
let api: TestApi;
/** The same API with small per-account budgets, for the flood tests. */
let limited: TestApi;

beforeAll(async () => {
  ctx = await createTestContext('hostile_tenant');
  fake = await startFakeStripe();
  workers = await startTestWorkers(ctx, { stripe: stripeClientFor(fake.url) });
  apiPool = createPool({ url: ctx.databaseUrl, schema: ctx.schema, max: API_POOL_SIZE, application: 'test-hostile-api' });
  api = await startTestApi(ctx, { stripe: stripeClientFor(fake.url), pool: apiPool });
  limited = await startTestApi(ctx, { stripe: stripeClientFor(fake.url), pool: apiPool, accountBudgets: FLOOD_BUDGETS, stripeReadsPerSecond: 50 });
});
afterAll(async () => {
  await limited?.close();
  await api?.close();
  await apiPool?.end();
  await workers?.stop();
  await fake?.close();
  await ctx?.close();
});

const post = (c: Customer, path: string, key: string, body: unknown) => callApi(api.url, 'POST', path, { apiKey: c.apiKey, body, headers: { 'idempotency-key': key } });
const refund = (c: Customer, key: string, body: { payment_intent_id: string; amount_minor?: number }) => post(c, '/billing/refunds', key, body);
const debit = (c: Customer, key: string, amount: number) => post(c, '/accounts/me/debits', key, { amount_minor: amount, currency: 'usd' });
const balanceOf = async (c: Customer) => {
  const r = await callApi(api.url, 'GET', '/accounts/me/balance', { apiKey: c.apiKey });
  expect(r.status).toBe(200);
  const usd = (r.body.balances as { currency: string; amount_minor: number; held_minor: number; available_minor: number }[]).find((b) => b.currency === 'usd');
  return usd ?? { currency: 'usd', amount_minor: 0, held_minor: 0, available_minor: 0 };
};
const stripeRefundsOf = (pi: string) => fake.requestsTo('POST', '/v1/refunds').filter((r) => r.status === 200 && !r.replayed && r.body?.payment_intent === pi);

async function creditedPurchase(amount: number, customer?: Customer): Promise<{ c: Customer; pi: string }> {
  const c = customer ?? (await newCustomer(ctx, fake));
  const pi = newPaymentIntent(fake, c.customerId, { amount });
  const confirmed = await post(c, '/billing/confirm_payment', `confirm-${pi}`, { payment_intent_id: pi });
  expect(confirmed.body).toMatchObject({ status: 'credited' });
  await paymentSettles(ctx, pi);
  return { c, pi };
}

/** Waits until every refund of the payment is booked (the payment workflow, woken by the API, applied them). */
const booksShow = (pi: string, debits: number) =>
  eventually(() => ledgerOf(ctx, pi), (rows) => rows.filter((r) => r.kind === 'refund_debit').length === debits, { description: `${debits} refund debits of ${pi}` });

describe('an API caller never takes a balance below zero', () => {
  it('spend, then refund all: refused before Stripe is asked; the credits still held can be refunded, to exactly 0', async () => {
    const { c, pi } = await creditedPurchase(5_000);
    expect((await debit(c, 'spend-4000', 4_000)).status).toBe(201);

    const all = await refund(c, 'refund-all', { payment_intent_id: pi });
    expect(all).toMatchObject({
      status: 409,
      body: { error: { code: 'refund_exceeds_available' }, refundable: { amount_minor: 1_000, currency: 'usd' } },
    });
    expect(stripeRefundsOf(pi)).toHaveLength(0);
    expect(fake.requestsTo('POST', '/v1/refunds')).toHaveLength(0);

    const rest = await refund(c, 'refund-rest', { payment_intent_id: pi, amount_minor: 1_000 });
    expect(rest).toMatchObject({ status: 201, body: { refund: { amount_minor: 1_000 } } });
    // Reserved at once: the refunded credits cannot be spent while the refund's debit is on its way.
    expect((await debit(c, 'spend-the-refunded', 1)).body).toMatchObject({ error: { code: 'insufficient_balance' }, available: { amount_minor: 0 } });

    await booksShow(pi, 1);
    await paymentSettles(ctx, pi);
    expect(await balanceOf(c)).toEqual({ currency: 'usd', amount_minor: 0, held_minor: 0, available_minor: 0 });
    expect(movementsOf(await ledgerOf(ctx, pi))).toEqual([['payment_credit', 5_000], ['refund_debit', -1_000]]);
  });

  it('50 debits and refunds racing on one account: every answer true, the balance never below zero', async () => {
    const { c, pi } = await creditedPurchase(5_000);
    // 25 × 150 of debits and 25 × 100 of refunds: 6,250 asked of 5,000, so some must be refused.
    const asks = Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? { kind: 'debit' as const, amount: 150 } : { kind: 'refund' as const, amount: 100 }));
    const answers = await Promise.all(
      asks.map((a, i) => (a.kind === 'debit' ? debit(c, `race-debit-${i}`, a.amount) : refund(c, `race-refund-${i}`, { payment_intent_id: pi, amount_minor: a.amount }))),
    );
    const granted = asks.filter((_, i) => answers[i]!.status === 201);
    for (const [i, r] of answers.entries()) {
      expect([201, 409], JSON.stringify(r.body)).toContain(r.status);
      if (r.status === 409) expect(r.body.error.code).toBe(asks[i]!.kind === 'debit' ? 'insufficient_balance' : 'refund_exceeds_available');
    }
    const debited = granted.filter((a) => a.kind === 'debit').reduce((s, a) => s + a.amount, 0);
    const refunded = granted.filter((a) => a.kind === 'refund').reduce((s, a) => s + a.amount, 0);
    expect(debited + refunded).toBeLessThanOrEqual(5_000);
    expect(granted.length).toBeLessThan(50);
    // Each refund granted is one refund at Stripe, each refused one none.
    expect(stripeRefundsOf(pi)).toHaveLength(granted.filter((a) => a.kind === 'refund').length);

    await booksShow(pi, granted.filter((a) => a.kind === 'refund').length);
    await paymentSettles(ctx, pi);
    const balance = await balanceOf(c);
    expect(balance).toEqual({ currency: 'usd', amount_minor: 5_000 - debited - refunded, held_minor: 0, available_minor: 5_000 - debited - refunded });
    expect(balance.amount_minor).toBeGreaterThanOrEqual(0);
  });

  it('a refund that fails at Stripe before its debit is booked frees the credits it held', async () => {
    const { c, pi } = await creditedPurchase(2_000);
    // Stripe makes the refund, then its answer is held: the API has not woken the payment yet, so nothing is booked.
    const held = fake.faults.add({ kind: 'timeout', method: 'POST', path: '/v1/refunds', applied: true });
    const pending = refund(c, 'refund-that-fails', { payment_intent_id: pi, amount_minor: 2_000 });
    await eventually(async () => held.held, (n) => n === 1, { description: 'refund made, answer held' });
    expect(await balanceOf(c)).toMatchObject({ amount_minor: 2_000, held_minor: 2_000, available_minor: 0 });
    const [made] = (await stripeClientFor(fake.url).refunds.list({ payment_intent: pi })).data;
    fake.setRefundStatus(made!.id, 'failed'); // as a card refund can fail, before payconfirm ever read it
    held.remove();
    expect((await pending).status).toBe(201);

    await eventually(() => balanceOf(c), (b) => b.held_minor === 0, { description: 'hold freed by the failed refund' });
    await paymentSettles(ctx, pi);
    expect(await balanceOf(c)).toEqual({ currency: 'usd', amount_minor: 2_000, held_minor: 0, available_minor: 2_000 });
    expect(movementsOf(await ledgerOf(ctx, pi))).toEqual([['payment_credit', 2_000]]);
  });

  it('a refund outside the API (the Stripe Dashboard) may leave debt: the books follow Stripe, accounts show and the gauge say so', async () => {
    const { c, pi } = await creditedPurchase(3_000);
    expect((await debit(c, 'spend-before-dashboard-refund', 2_500)).status).toBe(201);
    fake.refundPaymentIntent(pi); // all 3,000, in the Dashboard: not the caller's doing, so not refused
    // Its webhook wakes the payment (as the relay would hand it over): the workflow reads Stripe and books the refund.
    await signalPaymentWithStart(api.deps.payments, pi, { eventId: `evt_dashboard_refund_${pi}`, eventType: 'charge.refunded' });
    await booksShow(pi, 1);
    await paymentSettles(ctx, pi);
    expect(await balanceOf(c)).toEqual({ currency: 'usd', amount_minor: -2_500, held_minor: 0, available_minor: -2_500 });
    // Nothing more can be spent or refunded through the API.
    expect((await debit(c, 'spend-in-debt', 1)).body).toMatchObject({ error: { code: 'insufficient_balance' } });

    const shown = await runPayconfirm(['accounts', 'show', c.accountId, '--json'], { DATABASE_URL: ctx.databaseUrl, DATABASE_SCHEMA: ctx.schema });
    expect(shown).toMatchObject({ code: 0, json: { account_id: c.accountId, in_debt: true, balances: [{ currency: 'usd', balance_minor: -2_500, held_minor: 0, available_minor: -2_500, debt_minor: 2_500 }] } });

    const reconciled = await runPayconfirm(['reconcile', pi, '--json'], {
      DATABASE_URL: ctx.databaseUrl,
      DATABASE_SCHEMA: ctx.schema,
      STRIPE_SECRET_KEY: fake.apiKey,
      STRIPE_API_BASE: fake.url,
    });
    // No drift (the books follow Stripe), and the debt named.
    expect(reconciled).toMatchObject({ code: 0, json: { drifting: 0, accounts_in_debt: [{ account_id: c.accountId, currency: 'usd', debt_minor: 2_500 }] } });

    const metrics = createMetrics();
    registerStateGauges(metrics, { pool: ctx.pool, temporal: { client: ctx.client, taskQueue: ctx.taskQueue } });
    const inDebt = (await metrics.registry.getSingleMetric(STATE_GAUGE_NAMES.accountsInDebt)!.get()).values[0]?.value;
    expect(inDebt).toBe(1);
  });
});

describe('Idempotency-Keys as Stripe keeps them', () => {
  it('a full refund whose answer was lost is answered 201 with the same refund on retry', async () => {
    const { c, pi } = await creditedPurchase(3_000);
    fake.faults.add({ kind: 'lost_response', method: 'POST', path: '/v1/refunds', times: 3 });
    const first = await refund(c, 'lost-answer', { payment_intent_id: pi });
    const retried = first.status === 201 ? first : await refund(c, 'lost-answer', { payment_intent_id: pi });
    expect(retried).toMatchObject({ status: 201, body: { refund: { amount_minor: 3_000 } } });
    if (first.status !== 201) expect(first).toMatchObject({ status: 503, body: { error: { code: 'stripe_unavailable' } } });
    const again = await refund(c, 'lost-answer', { payment_intent_id: pi });
    expect(again.body.refund.id).toBe(retried.body.refund.id);
    fake.faults.clear();
    // One refund at Stripe, whatever was lost on the way back.
    expect((await stripeClientFor(fake.url).refunds.list({ payment_intent: pi })).data.map((r) => r.id)).toEqual([retried.body.refund.id]);
  });

  it('a 429 from Stripe is never the key\'s answer: it carries Retry-After and the retry refunds', async () => {
    const { c, pi } = await creditedPurchase(1_000);
    fake.faults.add({ kind: 'rate_limit', method: 'POST', path: '/v1/refunds', times: 10, retryAfterSeconds: 1 });
    const limited = await refund(c, 'rate-limited', { payment_intent_id: pi });
    expect(limited).toMatchObject({ status: 429, body: { error: { code: 'stripe_rate_limited' } } });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.headers.get('idempotent-replayed')).toBeNull();
    fake.faults.clear();
    const retried = await refund(c, 'rate-limited', { payment_intent_id: pi });
    expect(retried).toMatchObject({ status: 201, body: { refund: { amount_minor: 1_000 } } });
    expect(retried.headers.get('idempotent-replayed')).toBeNull();
    expect(stripeRefundsOf(pi)).toHaveLength(1);
  });
});

describe("one account's load never takes the API from another", () => {
  it(`${4 * API_POOL_SIZE} refunds held at Stripe: another account's reads all answer 200 meanwhile`, async () => {
    const { c: hostile, pi } = await creditedPurchase(5_000);
    const { c: bystander } = await creditedPurchase(700);
    const held = fake.faults.add({ kind: 'timeout', method: 'POST', path: '/v1/refunds', times: Infinity });
    const refunds = Array.from({ length: 4 * API_POOL_SIZE }, (_, i) => refund(hostile, `stall-${i}`, { payment_intent_id: pi, amount_minor: 1 }));
    const early: string[] = []; // any refund answered before Stripe was released: shown if the wait below fails
    for (const r of refunds) void r.then((answer) => early.push(`${answer.status} ${JSON.stringify(answer.body)}`));
    await eventually(async () => ({ held: held.held, early }), (s) => s.held === 4 * API_POOL_SIZE, { description: 'every refund waiting on Stripe' });

    const reads = await Promise.all(Array.from({ length: 30 }, () => callApi(api.url, 'GET', '/accounts/me/balance', { apiKey: bystander.apiKey })));
    expect(reads.map((r) => r.status)).toEqual(Array(30).fill(200));
    expect(reads[0]!.body.balances).toEqual([{ currency: 'usd', amount_minor: 700, held_minor: 0, available_minor: 700 }]);
    // The hostile account's own reads are served too, and see what its waiting refunds hold.
    expect((await balanceOf(hostile)).held_minor).toBe(4 * API_POOL_SIZE);

    held.remove();
    const answered = await Promise.all(refunds);
    expect(answered.map((r) => r.status)).toEqual(Array(4 * API_POOL_SIZE).fill(201));
    expect(stripeRefundsOf(pi)).toHaveLength(4 * API_POOL_SIZE);
    await booksShow(pi, 4 * API_POOL_SIZE);
    await paymentSettles(ctx, pi);
    expect(await balanceOf(hostile)).toMatchObject({ amount_minor: 5_000 - 4 * API_POOL_SIZE, held_minor: 0 });
  });

  it('a poll storm of unknown PaymentIntents by one account: it gets 429 with Retry-After, another account is credited', async () => {
    const hostile = await newCustomer(ctx, fake);
    const readsBefore = fake.requestsTo('GET', /^\/v1\/payment_intents\//).length;
    const storm = await Promise.all(Array.from({ length: 60 }, (_, i) => callApi(limited.url, 'GET', `/billing/payments/pi_unknown${i}x`, { apiKey: hostile.apiKey })));
    const statuses = storm.map((r) => r.status);
    expect(statuses.filter((s) => s === 404).length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(60 - FLOOD_BUDGETS.status.perMinute);
    expect(statuses.every((s) => s === 404 || s === 429)).toBe(true);
    for (const r of storm.filter((s) => s.status === 429)) expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    // At most the account's own Stripe read budget reached Stripe.
    expect(fake.requestsTo('GET', /^\/v1\/payment_intents\//).length - readsBefore).toBeLessThanOrEqual(FLOOD_BUDGETS.stripeReads.perMinute);

    const other = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, other.customerId, { amount: 1_200 });
    const confirmed = await callApi(limited.url, 'POST', '/billing/confirm_payment', { apiKey: other.apiKey, body: { payment_intent_id: pi } });
    expect(confirmed).toMatchObject({ status: 200, body: { status: 'credited', amount_minor: 1_200 } });
    expect((await callApi(limited.url, 'GET', `/billing/payments/${pi}`, { apiKey: other.apiKey })).body).toMatchObject({ status: 'credited' });
  });

  it(`concurrent confirms of one PaymentIntent share one Stripe read: all ${40} credited under a budget of ${FLOOD_BUDGETS.stripeReads.perMinute} reads`, async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { amount: 800 });
    const answers = await Promise.all(
      Array.from({ length: 40 }, () => callApi(limited.url, 'POST', '/billing/confirm_payment', { apiKey: c.apiKey, body: { payment_intent_id: pi } })),
    );
    expect(answers.map((r) => r.status)).toEqual(Array(40).fill(200));
    // The same credit for everyone; the first callers hear `credited`, those who came after it `already_credited`.
    const credits = new Set(answers.map(({ body: { status: _status, ...credit } }) => JSON.stringify(credit)));
    expect(credits.size).toBe(1);
    for (const r of answers) expect(['credited', 'already_credited']).toContain(r.body.status);
    expect(answers[0]!.body).toMatchObject({ amount_minor: 800, currency: 'usd' });
    const reads = fake.requestsTo('GET', `/v1/payment_intents/${pi}`).length;
    expect(reads).toBeLessThan(FLOOD_BUDGETS.stripeReads.perMinute);
  });

  it('a revoked key is refused at once (401 api_key_revoked) and moves nothing; the account\'s other key still works', async () => {
    const { c, pi } = await creditedPurchase(900);
    const { apiKey: leaked, key } = await createApiKey(ctx.pool, { id: c.accountId }, { name: 'leaked' });
    const withLeaked: Customer = { ...c, apiKey: leaked };
    expect((await debit(withLeaked, 'before-revoke', 100)).status).toBe(201);
    expect(await revokeApiKey(ctx.pool, c.accountId, key.id)).toMatchObject({ alreadyRevoked: false });

    for (const attempt of [
      () => debit(withLeaked, 'after-revoke', 100),
      () => refund(withLeaked, 'after-revoke-refund', { payment_intent_id: pi }),
      () => callApi(api.url, 'GET', '/accounts/me/balance', { apiKey: leaked }),
    ]) {
      expect(await attempt()).toMatchObject({ status: 401, body: { error: { code: 'api_key_revoked' } } });
    }
    expect(stripeRefundsOf(pi)).toHaveLength(0);
    expect(await balanceOf(c)).toMatchObject({ amount_minor: 800, available_minor: 800 });
  });
});
