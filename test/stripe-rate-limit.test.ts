import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stripeActivitiesPerSecond, worstCaseStartsPerWindow, MAX_STRIPE_REQUESTS_PER_ACTIVITY } from '../src/stripe/stripe-rate-limit.js';
import { startOrAttachPayment } from '../src/temporal/payment-workflow-client.js';
import { startFakeStripe, type FakeStripe } from './support/fake-stripe/index.js';
import { newCustomer, newPaymentIntent } from './support/payment-fixtures.js';
import { createTestContext, startTestWorkers, stripeClientFor, TEST_TUNING, type RunningWorkers, type TestContext } from './support/test-context.js';

/**
 * Stripe's per-account rate limit, held across every worker by the Stripe task queue's activity rate
 * limit (STRIPE_RATE_LIMIT_PER_SECOND → src/stripe/stripe-rate-limit.ts), measured in the fake's own
 * request log: the requests Stripe would have seen.
 */
const WORKERS = 4;
const LIMIT = 10; // Stripe requests per second
const PAYMENTS = 120;

let ctx: TestContext;
let fake: FakeStripe;
const workers: RunningWorkers[] = [];

beforeAll(async () => {
  ctx = await createTestContext('stripe-rate-limit');
  fake = await startFakeStripe();
  for (let i = 0; i < WORKERS; i++) {
    // Each call runs its own pair of Worker instances polling the same two task queues, as separate processes would.
    workers.push(await startTestWorkers(ctx, { stripe: stripeClientFor(fake.url), stripeRateLimitPerSecond: LIMIT }));
  }
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await fake?.close();
  await ctx?.close();
});

/** The largest number of `times` (ms) inside any half-open window of `windowMs`. */
function maxInSlidingWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let end = 0, start = 0; end < sorted.length; end++) {
    while (sorted[end]! - sorted[start]! >= windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

const starter = () => ({ client: ctx.client, taskQueue: ctx.taskQueue, tuning: TEST_TUNING });

describe('Stripe rate limit across workers', () => {
  it('the activity rate is derived so that no 1-second window can exceed the request limit', () => {
    // Below one activity's requests no rate can hold a 1-second window; the long-run rate stays within the limit.
    expect(stripeActivitiesPerSecond(2) * MAX_STRIPE_REQUESTS_PER_ACTIVITY).toBeLessThanOrEqual(2);
    for (const limit of [MAX_STRIPE_REQUESTS_PER_ACTIVITY, 4, 10, 25, 100, 1_000]) {
      const rate = stripeActivitiesPerSecond(limit);
      expect(rate).toBeGreaterThan(0);
      expect(worstCaseStartsPerWindow(rate) * MAX_STRIPE_REQUESTS_PER_ACTIVITY).toBeLessThanOrEqual(limit);
      // …and it is the largest such rate on the grid it searches: a little more would break the bound.
      expect(worstCaseStartsPerWindow(rate * 1.01 + 0.01) * MAX_STRIPE_REQUESTS_PER_ACTIVITY).toBeGreaterThan(limit);
    }
    // 10 requests/s, 3 a payment's activity: 1 activity/s, so no window widened by a second holds more than 3 starts (9 requests).
    expect(stripeActivitiesPerSecond(LIMIT)).toBe(1);
  });

  it('a 429 is retried after its Retry-After, not at the retry policy pace', async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId);
    const path = `/v1/payment_intents/${pi}`;
    const rule = fake.faults.add({ kind: 'rate_limit', method: 'GET', path, retryAfterSeconds: 2 });

    const outcome = await (await startOrAttachPayment(starter(), pi, `rate-limited ${pi}`)).result();

    expect(outcome.status).toBe('credited');
    expect(rule.hits).toBe(1);
    const loads = fake.requestsTo('GET', path);
    expect(loads.map((r) => r.status)).toEqual([429, 200]);
    // TEST_TUNING retries after 100 ms; Retry-After: 2 wins.
    expect(loads[1]!.at - loads[0]!.at).toBeGreaterThanOrEqual(2_000);
  });

  it(`${PAYMENTS} payments at once with ${WORKERS} workers: all credited, never more than ${LIMIT} Stripe requests in any second`, { timeout: 600_000 }, async () => {
    // One customer per payment, as in a month-start renewal burst (one customer's >100 balance
    // transactions would add a second list page per credit: a path the derivation does not cover).
    const payments = await Promise.all(
      Array.from({ length: PAYMENTS }, async () => {
        const c = await newCustomer(ctx, fake);
        return { pi: newPaymentIntent(fake, c.customerId, { amount: 1_000 }), customerId: c.customerId };
      }),
    );
    const firstRequest = fake.requests.length;
    const started = Date.now();

    const handles = await Promise.all(payments.map(({ pi }) => startOrAttachPayment(starter(), pi, `burst ${pi}`)));
    const outcomes = await Promise.all(handles.map((h) => h.result()));
    const seconds = (Date.now() - started) / 1000;

    expect(outcomes.map((o) => o.status)).toEqual(Array(PAYMENTS).fill('credited'));
    expect(fake.balanceTransactions().filter((t) => payments.some((p) => p.customerId === t.customer))).toHaveLength(PAYMENTS);
    const requests = fake.requests.slice(firstRequest);
    const peak = maxInSlidingWindow(requests.map((r) => r.at), 1_000);
    console.info(
      `[stripe-rate-limit] ${PAYMENTS} payments, ${WORKERS} workers, limit ${LIMIT}/s (activities ${stripeActivitiesPerSecond(LIMIT)}/s): ` +
        `${requests.length} Stripe requests in ${seconds.toFixed(1)} s, peak ${peak} in any 1-second window`,
    );
    expect(requests.every((r) => r.status !== 429)).toBe(true);
    expect(peak).toBeLessThanOrEqual(LIMIT);
  });
});
