import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PayconfirmAbortError,
  PayconfirmApiError,
  PayconfirmClient,
  type PayconfirmClientOptions,
  type PaymentResult,
} from 'payconfirm/client';
import { verifyLedger } from '../src/db/ledger-verify.js';
import type { PaymentStage } from '../src/domain/payment.js';
import { paymentStateQuery, rejectUpdate } from '../workflows/payment-messages.js';
import { eventually } from './support/eventually.js';
import { startFakeStripe, type FakeStripe } from './support/fake-stripe/index.js';
import { moneyFor, newCustomer, newPaymentIntent } from './support/payment-fixtures.js';
import { callApi, startTestApi, type TestApi } from './support/test-api.js';
import { createTestContext, startTestWorkers, stripeClientFor, type RunningWorkers, type TestContext } from './support/test-context.js';

/** The typed client against payconfirm's real API, real Temporal and Postgres, and the fake Stripe. */

let ctx: TestContext;
let fake: FakeStripe;
let workers: RunningWorkers;
/** Waits up to 10 s for the workflow, like production's CONFIRM_WAIT_MS. */
let api: TestApi;
/** Answers `pending` after 300 ms, so the client's own waiting (polling) is what is exercised. */
let quickApi: TestApi;
/** 30 confirms a minute per account, bursts of 1: a second confirm within a second gets 429 + Retry-After: 2. */
let limitedApi: TestApi;

beforeAll(async () => {
  ctx = await createTestContext('client-integration');
  fake = await startFakeStripe();
  workers = await startTestWorkers(ctx, { stripe: stripeClientFor(fake.url) });
  const stripe = stripeClientFor(fake.url);
  [api, quickApi, limitedApi] = await Promise.all([
    startTestApi(ctx, { stripe, confirmWaitMs: 10_000 }),
    startTestApi(ctx, { stripe, confirmWaitMs: 300 }),
    startTestApi(ctx, { stripe, accountBudgets: { confirm: { perMinute: 30, burst: 1 } } }),
  ]);
});
afterAll(async () => {
  await Promise.all([api?.close(), quickApi?.close(), limitedApi?.close()]);
  await workers?.stop();
  await fake?.close();
  await ctx?.close();
});

/** One HTTP attempt the client made, as seen through the `fetch` it was given. */
interface Attempt {
  method: string;
  path: string;
  httpStatus: number | null;
  retryAfter: string | null;
  /** `performance.now()` when the request was handed to fetch, and when its answer's headers arrived. */
  sentAt: number;
  answeredAt: number | null;
}

/** A client of `target` whose every HTTP attempt is recorded (the wire is the real one). */
function recordedClient(target: TestApi, apiKey: string, options: Partial<PayconfirmClientOptions> = {}) {
  const attempts: Attempt[] = [];
  const recordingFetch: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const attempt: Attempt = {
      method: init?.method ?? 'GET',
      path: url.pathname,
      httpStatus: null,
      retryAfter: null,
      sentAt: performance.now(),
      answeredAt: null,
    };
    attempts.push(attempt);
    const response = await fetch(input, init);
    Object.assign(attempt, { httpStatus: response.status, retryAfter: response.headers.get('retry-after'), answeredAt: performance.now() });
    return response;
  };
  const client = new PayconfirmClient({ baseUrl: target.url, apiKey, fetch: recordingFetch, ...options });
  return { client, attempts };
}

const stageOf = (paymentIntentId: string): Promise<PaymentStage> =>
  ctx.client.workflow.getHandle(paymentIntentId).query(paymentStateQuery).then((state) => state.stage);

const awaitStage = (paymentIntentId: string, stage: PaymentStage) =>
  eventually(() => stageOf(paymentIntentId), (seen) => seen === stage, { description: `${paymentIntentId} in ${stage}` });

describe('PayconfirmClient against the real API', () => {
  it('confirms a PaymentIntent, then reads it back, the balance and the ledger', async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { amount: 4_200, currency: 'eur' });
    const { client, attempts } = recordedClient(api, c.apiKey);

    const credited = await client.confirmPayment(pi);
    expect(credited).toEqual({
      status: 'credited',
      paymentIntentId: pi,
      accountId: c.accountId,
      ledgerEntryId: expect.any(String),
      amountMinor: 4_200,
      currency: 'eur',
      creditedAt: expect.any(String),
    });
    const ledgerEntryId = (credited as Extract<PaymentResult, { ledgerEntryId: string }>).ledgerEntryId;

    expect(await client.confirmPayment(pi)).toMatchObject({ status: 'already_credited', ledgerEntryId, amountMinor: 4_200 });
    expect(await client.getPayment(pi)).toMatchObject({ status: 'credited', ledgerEntryId });
    expect(await client.getBalance()).toEqual({ accountId: c.accountId, balances: [{ currency: 'eur', amountMinor: 4_200, heldMinor: 0, availableMinor: 4_200 }] });
    const ledger = await client.listLedger({ limit: 10 });
    expect(ledger).toEqual({
      entries: [expect.objectContaining({ id: ledgerEntryId, kind: 'payment_credit', amountMinor: 4_200, currency: 'eur', paymentIntentId: pi })],
      nextCursor: null,
    });
    expect(attempts.map((a) => a.httpStatus)).toEqual([200, 200, 200, 200, 200]);
  });

  it('20 concurrent confirmPayment calls for one PaymentIntent resolve to the same ledger entry and one credit', async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { amount: 9_900 });
    const { client, attempts } = recordedClient(api, c.apiKey);

    const results = await Promise.all(Array.from({ length: 20 }, () => client.confirmPayment(pi)));

    expect(attempts).toHaveLength(20);
    for (const result of results) expect(['credited', 'already_credited']).toContain(result.status);
    const entryIds = new Set(results.map((r) => (r.status === 'credited' || r.status === 'already_credited' ? r.ledgerEntryId : r.status)));
    expect(entryIds.size).toBe(1);
    const money = await moneyFor(ctx, fake, pi, c.customerId);
    expect(money.ledgerCredits).toEqual([{ id: [...entryIds][0], amount_minor: 9_900 }]);
    expect(money.stripeCredits).toHaveLength(1);
    expect(await client.getBalance()).toMatchObject({ balances: [{ currency: 'usd', amountMinor: 9_900 }] });
  });
});

describe('retries and typed failures', () => {
  it('429 with Retry-After: 2 — waits at least 2 s, then succeeds', async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { amount: 1_234 });
    // Spend the account's only token (a malformed confirm still counts against the limit).
    const spent = await callApi(limitedApi.url, 'POST', '/billing/confirm_payment', { apiKey: c.apiKey, body: { payment_intent_id: 'nope' } });
    expect(spent.status).toBe(400);
    // random 0: the client's own jitter adds nothing, so any wait is the server's Retry-After.
    const { client, attempts } = recordedClient(limitedApi, c.apiKey, { random: () => 0 });

    const result = await client.confirmPayment(pi);

    expect(result).toMatchObject({ status: 'credited', amountMinor: 1_234 });
    expect(attempts.map((a) => [a.httpStatus, a.retryAfter])).toEqual([
      [429, '2'],
      [200, null],
    ]);
    // The sleep starts after the 429's headers arrive; 1 ms of slack for libuv's cached loop clock.
    expect(attempts[1]!.sentAt - attempts[0]!.answeredAt!).toBeGreaterThanOrEqual(1_999);
    expect((await moneyFor(ctx, fake, pi, c.customerId)).ledgerCredits).toHaveLength(1);
  });

  it('404 (a stranger\'s or an unknown payment) and 401 reject at once with a typed PayconfirmApiError (one attempt, nothing credited)', async () => {
    const owner = await newCustomer(ctx, fake);
    const intruder = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, owner.customerId);

    const cases = [
      { apiKey: intruder.apiKey, paymentIntentId: pi, httpStatus: 404, code: 'payment_intent_not_found' },
      { apiKey: owner.apiKey, paymentIntentId: 'pi_doesnotexist123', httpStatus: 404, code: 'payment_intent_not_found' },
      { apiKey: `pcf_${'x'.repeat(43)}`, paymentIntentId: pi, httpStatus: 401, code: 'unauthenticated' },
    ];
    for (const expected of cases) {
      const { client, attempts } = recordedClient(api, expected.apiKey);
      const failure = await client.confirmPayment(expected.paymentIntentId).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(PayconfirmApiError);
      expect(failure).toMatchObject({ httpStatus: expected.httpStatus, code: expected.code, retryable: false, requestId: expect.stringMatching(/^req_/) });
      expect(attempts.map((a) => a.httpStatus)).toEqual([expected.httpStatus]);
    }
    const money = await moneyFor(ctx, fake, pi, owner.customerId);
    expect(money.ledgerCredits).toHaveLength(0);
    expect(money.stripeCredits).toHaveLength(0);
  });

  it('409 not_payable resolves at once as the not_payable result, without a retry', async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { status: 'canceled' });
    const { client, attempts } = recordedClient(api, c.apiKey);

    expect(await client.confirmPayment(pi, { wait: true })).toEqual({ status: 'not_payable', paymentIntentId: pi, paymentIntentStatus: 'canceled' });
    expect(attempts.map((a) => a.httpStatus)).toEqual([409]);
  });

  it('409 payment_rejected (an operator rejected the payment while the client waited) rejects at once', async () => {
    const c = await newCustomer(ctx, fake);
    // amount_received 0 is an anomaly: the workflow waits in needs_attention for an operator.
    const pi = newPaymentIntent(fake, c.customerId, { amount: 0 });
    const { client, attempts } = recordedClient(quickApi, c.apiKey);

    const confirming = client.confirmPayment(pi, { wait: true, pollIntervalMs: 200 });
    confirming.catch(() => {}); // asserted below
    await awaitStage(pi, 'needs_attention');
    await ctx.client.workflow.getHandle(pi).executeUpdate(rejectUpdate, { args: [{ reason: 'test: amount anomaly' }] });

    const failure = await confirming.catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PayconfirmApiError);
    expect(failure).toMatchObject({ httpStatus: 409, code: 'payment_rejected', retryable: false });
    // The operator's free text is for operators: the caller hears the code, never the note.
    expect((failure as PayconfirmApiError).message).not.toContain('test: amount anomaly');
    // Pending while the operator decided, then one 409 and nothing after it.
    expect(attempts.at(-1)!.httpStatus).toBe(409);
    expect(attempts.slice(0, -1).every((a) => a.httpStatus === 202)).toBe(true);
    expect((await moneyFor(ctx, fake, pi, c.customerId)).ledgerCredits).toHaveLength(0);
  });
});

describe('waiting for a processing PaymentIntent', () => {
  it('wait: true polls until it succeeds and returns credited', async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { status: 'processing', amount: 3_000 });
    const { client, attempts } = recordedClient(quickApi, c.apiKey);

    const confirming = client.confirmPayment(pi, { wait: true });
    await eventually(async () => attempts.some((a) => a.httpStatus === 202), Boolean, { description: 'a pending answer' });
    fake.setPaymentIntentStatus(pi, 'succeeded'); // no webhook: the workflow's recheck timer sees it

    expect(await confirming).toMatchObject({ status: 'credited', paymentIntentId: pi, amountMinor: 3_000 });
    expect(attempts[0]).toMatchObject({ method: 'POST', path: '/billing/confirm_payment', httpStatus: 202 });
    expect(attempts.slice(1).every((a) => a.method === 'GET' && a.path === `/billing/payments/${pi}`)).toBe(true);
    expect(attempts.at(-1)!.httpStatus).toBe(200);
    expect((await moneyFor(ctx, fake, pi, c.customerId)).ledgerCredits).toHaveLength(1);
  });

  it('wait: 1000 returns pending once a second has passed', async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { status: 'processing' });
    const { client, attempts } = recordedClient(quickApi, c.apiKey);
    const startedAt = performance.now();

    const result = await client.confirmPayment(pi, { wait: 1_000 });

    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(1_000);
    expect(result).toEqual({
      status: 'pending',
      paymentIntentId: pi,
      stage: 'awaiting_payment',
      reason: null,
      pollUrl: `/billing/payments/${pi}`,
      retryAfterMs: 2_000,
    });
    // It polled within the second (the server's Retry-After of 2 s was cut to what was left of the wait).
    expect(attempts.map((a) => `${a.method} ${a.httpStatus}`)).toEqual(['POST 202', 'GET 202']);
    fake.setPaymentIntentStatus(pi, 'canceled'); // lets the workflow end
  });
});

describe('aborting', () => {
  it('rejects promptly with an abort error while the server is still holding the request', async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { status: 'processing' });
    const { client, attempts } = recordedClient(api, c.apiKey);
    const controller = new AbortController();

    const confirming = client.confirmPayment(pi, { signal: controller.signal });
    confirming.catch(() => {}); // asserted below
    await awaitStage(pi, 'awaiting_payment'); // the server now waits up to 10 s for the workflow
    const abortedAt = performance.now();
    controller.abort();

    const failure = await confirming.catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PayconfirmAbortError);
    expect(failure).toMatchObject({ name: 'AbortError', code: 'aborted' });
    expect(performance.now() - abortedAt).toBeLessThan(1_000);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]!.answeredAt).toBeNull();
    // Aborting the client changes nothing on the server: the payment still settles once.
    fake.setPaymentIntentStatus(pi, 'succeeded');
    const settled = await client.confirmPayment(pi, { wait: true });
    expect(settled.status).toMatch(/^(already_)?credited$/);
    expect((await moneyFor(ctx, fake, pi, c.customerId)).ledgerCredits).toHaveLength(1);
  });

  it('leaves the ledger consistent (invariants 1 and 2)', async () => {
    expect(await verifyLedger(ctx.pool)).toMatchObject({ ok: true });
  });
});
