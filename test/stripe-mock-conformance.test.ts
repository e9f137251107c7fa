import { ApplicationFailure } from '@temporalio/common';
import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createStripePaymentActivities, type StripePaymentActivities } from '../activities/stripe-payment-activities.js';
import { ensureTool, STRIPE_MOCK } from '../src/dev/go-tools.js';
import { startStripeMock, STRIPE_MOCK_SECRET_KEY, type RunningStripeMock } from '../src/dev/stripe-mock.js';
import { FAILURE_TYPES } from '../src/domain/failure-types.js';
import { createStripeClient, type StripeClient } from '../src/stripe/stripe-client.js';
import { toActivityFailure } from '../src/stripe/stripe-failures.js';

/**
 * payconfirm's Stripe activities against Stripe's own stripe-mock, which validates each request against
 * Stripe's OpenAPI spec (400 for an unknown parameter, a wrong type, a missing required one) and answers
 * with fixtures. It is stateless: this checks request and response shapes, not behaviour (the fake does that).
 */
let mock: RunningStripeMock;
let stripe: StripeClient;
let activities: StripePaymentActivities;
let responses: Array<{ method: string; path: string; status: number; idempotencyKey: string | undefined }>;

beforeAll(async () => {
  mock = await startStripeMock({ binaryPath: await ensureTool(STRIPE_MOCK, (line) => process.stderr.write(`${line}\n`)) });
  stripe = createStripeClient({ secretKey: STRIPE_MOCK_SECRET_KEY, apiBase: mock.url, timeoutMs: 5_000 });
  stripe.on('response', (e: { method?: string; path?: string; status?: number; idempotency_key?: string }) =>
    responses.push({ method: e.method ?? '', path: e.path ?? '', status: e.status ?? 0, idempotencyKey: e.idempotency_key }),
  );
  activities = createStripePaymentActivities({ stripe });
});
afterAll(async () => {
  await mock?.stop();
});
beforeEach(() => {
  responses = [];
});

const PI = 'pi_3ConformanceTest0001';
const CUSTOMER = 'cus_ConformanceTest01';

describe('Stripe activities against stripe-mock (request shapes checked by Stripe\'s OpenAPI spec)', () => {
  it('loadPaymentIntent: the retrieve is accepted and the answer parses into a snapshot', async () => {
    const snapshot = await activities.loadPaymentIntent(PI);
    expect(snapshot).toEqual({
      id: expect.stringMatching(/^pi_/),
      status: expect.stringMatching(/^(requires_payment_method|requires_confirmation|requires_action|processing|requires_capture|canceled|succeeded)$/),
      amountMinor: expect.any(Number),
      amountReceivedMinor: expect.any(Number),
      currency: expect.stringMatching(/^[a-z]{3}$/),
      customerId: null,
      metadata: expect.any(Object),
    });
    expect(Number.isInteger(snapshot.amountMinor)).toBe(true);
    expect(responses).toEqual([{ method: 'GET', path: `/v1/payment_intents/${PI}`, status: 200, idempotencyKey: undefined }]);
  });

  it('creditCustomerBalance: the lookup list and the keyed balance-transaction POST are accepted', async () => {
    const result = await activities.creditCustomerBalance({
      paymentIntentId: PI,
      customerId: CUSTOMER,
      amountMinor: 2_500,
      currency: 'usd',
      ledgerEntryId: '0f2c4d1e-7a39-4c3b-9a63-2b8f1d7c5e40',
      knownBalanceTransactionId: null,
    });
    // stripe-mock's fixture list holds no transaction for this PaymentIntent, so the activity created one.
    expect(result).toEqual({ balanceTransactionId: expect.stringMatching(/^cbtxn_/), via: 'created' });
    expect(responses).toEqual([
      { method: 'GET', path: `/v1/customers/${CUSTOMER}/balance_transactions?limit=100`, status: 200, idempotencyKey: undefined },
      { method: 'POST', path: `/v1/customers/${CUSTOMER}/balance_transactions`, status: 200, idempotencyKey: `credit-tx:${PI}` },
    ]);
  });

  it('markPaymentIntentCredited: the keyed metadata update is accepted', async () => {
    const result = await activities.markPaymentIntentCredited({
      paymentIntentId: PI,
      ledgerEntryId: '0f2c4d1e-7a39-4c3b-9a63-2b8f1d7c5e40',
      balanceTransactionId: 'cbtxn_ConformanceTest01',
      currentMetadata: {},
    });
    expect(result).toEqual({ alreadyMarked: false });
    expect(responses).toEqual([{ method: 'POST', path: `/v1/payment_intents/${PI}`, status: 200, idempotencyKey: `credit-mark:${PI}` }]);
  });

  it('listSucceededRefunds: the filtered refund list is accepted and each refund parses', async () => {
    const refunds = await activities.listSucceededRefunds(PI);
    expect(refunds.length).toBeGreaterThan(0);
    for (const refund of refunds) {
      expect(refund).toEqual({ id: expect.stringMatching(/^re_/), amountMinor: expect.any(Number), currency: expect.stringMatching(/^[a-z]{3}$/) });
    }
    expect(responses).toEqual([{ method: 'GET', path: `/v1/refunds?payment_intent=${PI}&limit=100`, status: 200, idempotencyKey: undefined }]);
  });
});

describe('stripe-mock would catch a wrong request shape (so the checks above can fail)', () => {
  const validParams = { amount: -2_500, currency: 'usd', description: 'payconfirm credit', metadata: { payment_intent: PI } };

  it('an unknown parameter on the balance-transaction POST is a 400, which payconfirm maps to a non-retryable rejection', async () => {
    const err = await stripe.customers
      .createBalanceTransaction(CUSTOMER, { ...validParams, payment_intent: PI } as Stripe.CustomerCreateBalanceTransactionParams)
      .then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err).toMatchObject({ statusCode: 400 });
    const failure = toActivityFailure(err, 'credit');
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: FAILURE_TYPES.stripeRejected, nonRetryable: true });
  });

  it('a wrongly typed amount and a missing currency are 400s; the same call with valid parameters is accepted', async () => {
    const bad = [
      { ...validParams, amount: 'twenty-five' },
      { amount: -2_500, metadata: { payment_intent: PI } },
    ] as unknown as Stripe.CustomerCreateBalanceTransactionParams[];
    for (const params of bad) {
      await expect(stripe.customers.createBalanceTransaction(CUSTOMER, params)).rejects.toMatchObject({ statusCode: 400, type: 'StripeInvalidRequestError' });
    }
    await expect(stripe.customers.createBalanceTransaction(CUSTOMER, validParams)).resolves.toMatchObject({ object: 'customer_balance_transaction' });
    expect(responses.map((r) => r.status)).toEqual([400, 400, 200]);
  });
});
