import Stripe from 'stripe';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startFakeStripe, waitUntil, type FakeStripe } from './support/fake-stripe/index.js';

const BALANCE_TXNS = /^\/v1\/customers\/[^/]+\/balance_transactions$/;

let fake: FakeStripe;
let stripe: Stripe;

function clientFor(target: FakeStripe, apiKey = target.apiKey): Stripe {
  return new Stripe(apiKey, {
    host: target.host,
    port: target.port,
    protocol: 'http',
    maxNetworkRetries: 0,
    timeout: 10_000,
  });
}

/** Awaits a call that must fail and returns its error. */
async function failureOf(call: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await call;
  } catch (error) {
    if (error instanceof Stripe.errors.StripeError) return error;
    throw error;
  }
  throw new Error('expected the Stripe call to fail');
}

let keySequence = 0;
function freshKey(label: string): string {
  keySequence += 1;
  return `test-${label}-${keySequence}-${Date.now()}`;
}

interface CreditOptions {
  amount?: number;
  currency?: string;
  /** Client-side timeout of this call in ms. */
  timeout?: number;
}

function credit(customer: string, idempotencyKey: string, { amount = -500, currency = 'usd', timeout }: CreditOptions = {}) {
  return stripe.customers.createBalanceTransaction(
    customer,
    { amount, currency, description: 'credit', metadata: { payment_intent: 'pi_test' } },
    { idempotencyKey, ...(timeout === undefined ? {} : { timeout }) },
  );
}

function postsWithKey(key: string) {
  return fake.requestsTo('POST', BALANCE_TXNS).filter((entry) => entry.idempotencyKey === key);
}

beforeAll(async () => {
  fake = await startFakeStripe();
  stripe = clientFor(fake);
});

afterAll(async () => {
  await fake.close();
});

describe('fake stripe: objects', () => {
  it('creates, retrieves and updates payment intent metadata', async () => {
    const created = await stripe.paymentIntents.create({ amount: 2_000, currency: 'USD', metadata: { order: 'o-1', stale: 'x' } });
    expect(created).toMatchObject({ object: 'payment_intent', amount: 2_000, currency: 'usd', status: 'requires_payment_method' });
    expect(created.id).toMatch(/^pi_[A-Za-z0-9]{24}$/);

    const updated = await stripe.paymentIntents.update(created.id, { metadata: { credited: 'true', stale: '' } });
    expect(updated.metadata).toEqual({ order: 'o-1', credited: 'true' });

    const retrieved = await stripe.paymentIntents.retrieve(created.id);
    expect(retrieved.metadata).toEqual({ order: 'o-1', credited: 'true' });
    expect(fake.getPaymentIntent(created.id)?.metadata).toEqual({ order: 'o-1', credited: 'true' });
  });

  it('serves setup-created intents, with a charge once succeeded', async () => {
    const customer = fake.createCustomer({ email: 'a@example.com' });
    const processing = fake.createPaymentIntent({ amount: 1_500, currency: 'eur', customer: customer.id, status: 'processing' });
    expect(processing).toMatchObject({ status: 'processing', latest_charge: null, amount_received: 0 });

    fake.setPaymentIntentStatus(processing.id, 'succeeded');
    const intent = await stripe.paymentIntents.retrieve(processing.id, { expand: ['latest_charge'] });
    expect(intent).toMatchObject({ status: 'succeeded', amount_received: 1_500, customer: customer.id });
    expect(intent.latest_charge).toMatchObject({ object: 'charge', amount: 1_500, payment_intent: intent.id });
    expect(typeof intent.latest_charge === 'object' && intent.latest_charge?.id).toMatch(/^ch_/);
  });

  it('refunds through the API and the setup helper', async () => {
    const intent = fake.createPaymentIntent({ amount: 5_000, currency: 'usd' });
    const partial = await stripe.refunds.create({ payment_intent: intent.id, amount: 2_000 });
    expect(partial).toMatchObject({ object: 'refund', amount: 2_000, status: 'succeeded', payment_intent: intent.id });
    const rest = fake.refundPaymentIntent(intent.id);
    expect(rest.amount).toBe(3_000);

    const refunds = await stripe.refunds.list({ payment_intent: intent.id });
    expect(refunds.data.map((refund) => refund.id)).toEqual([rest.id, partial.id]);
    const charge = await stripe.charges.retrieve(intent.latest_charge ?? '');
    expect(charge).toMatchObject({ amount_refunded: 5_000, refunded: true });

    const error = await failureOf(stripe.refunds.create({ payment_intent: intent.id }));
    expect(error).toMatchObject({ statusCode: 400, code: 'charge_already_refunded' });
  });

  it('builds events the SDK webhook helpers accept', () => {
    const intent = fake.createPaymentIntent({ amount: 700, currency: 'usd' });
    const event = fake.buildEvent('payment_intent.succeeded', intent, { id: 'evt_fixed', created: 1_700_000_000 });
    expect(event).toMatchObject({
      id: 'evt_fixed',
      object: 'event',
      created: 1_700_000_000,
      data: { object: { id: intent.id } },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type: 'payment_intent.succeeded',
    });
    const payload = JSON.stringify(event);
    const secret = 'whsec_test';
    const header = stripe.webhooks.generateTestHeaderString({ payload, secret });
    expect(stripe.webhooks.constructEvent(payload, header, secret).id).toBe('evt_fixed');
  });
});

describe('fake stripe: errors', () => {
  it('answers an unknown payment intent with a 404 resource_missing', async () => {
    const error = await failureOf(stripe.paymentIntents.retrieve('pi_doesnotexist'));
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error).toMatchObject({ statusCode: 404, code: 'resource_missing', param: 'id' });
    expect(error.requestId).toMatch(/^req_/);
  });

  it('rejects another API key with a 401', async () => {
    const error = await failureOf(clientFor(fake, 'sk_test_wrong_key_123').customers.retrieve('cus_x'));
    expect(error).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect(error.statusCode).toBe(401);
  });

  it('rejects a balance transaction in another currency than the customer balance', async () => {
    const customer = fake.createCustomer({});
    await credit(customer.id, freshKey('usd'), { amount: -100, currency: 'usd' });
    const error = await failureOf(credit(customer.id, freshKey('eur'), { amount: -100, currency: 'eur' }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error).toMatchObject({ statusCode: 400, param: 'currency' });
    expect(fake.getCustomer(customer.id)).toMatchObject({ balance: -100, currency: 'usd' });
  });

  it('rejects invalid parameters without saving them under the idempotency key', async () => {
    const customer = fake.createCustomer({});
    const key = freshKey('validation');
    const invalid = await failureOf(credit(customer.id, key, { amount: 10.5 }));
    expect(invalid).toMatchObject({ statusCode: 400, code: 'parameter_invalid_integer', param: 'amount' });
    const unknown = await failureOf(stripe.customers.create({ email: 'x@example.com', nickname: 'x' } as Stripe.CustomerCreateParams));
    expect(unknown).toMatchObject({ statusCode: 400, code: 'parameter_unknown', param: 'nickname' });

    const txn = await credit(customer.id, key, { amount: -300 });
    expect(txn.amount).toBe(-300);
    expect(postsWithKey(key).map((entry) => [entry.status, entry.replayed])).toEqual([[400, false], [200, false]]);
  });
});

describe('fake stripe: idempotency', () => {
  it('replays the saved result for a repeated key', async () => {
    const customer = fake.createCustomer({});
    const key = freshKey('replay');
    const first = await credit(customer.id, key);
    const second = await credit(customer.id, key);

    expect(second.id).toBe(first.id);
    expect(second.id).toMatch(/^cbtxn_/);
    expect(second).toMatchObject({ amount: -500, currency: 'usd', customer: customer.id, ending_balance: -500, type: 'adjustment' });
    expect(second.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(second.lastResponse.requestId).toBe(first.lastResponse.requestId);
    expect(postsWithKey(key).map((entry) => entry.replayed)).toEqual([false, true]);
    expect(fake.balanceTransactions(customer.id)).toHaveLength(1);
    expect(fake.getCustomer(customer.id)?.balance).toBe(-500);
  });

  it('rejects the same key with other parameters', async () => {
    const customer = fake.createCustomer({});
    const key = freshKey('mismatch');
    const original = await credit(customer.id, key);
    const error = await failureOf(credit(customer.id, key, { amount: -900 }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(error.statusCode).toBe(400);
    expect((await credit(customer.id, key)).id).toBe(original.id);
    expect(fake.balanceTransactions(customer.id)).toHaveLength(1);
  });

  it('answers 409 to a second request while the first one is still executing', async () => {
    const customer = fake.createCustomer({});
    const key = freshKey('in-flight');
    const hold = fake.faults.add({ kind: 'timeout', method: 'POST', path: BALANCE_TXNS });
    const first = credit(customer.id, key);
    await waitUntil(() => hold.held === 1, { description: 'first request held' });

    const conflict = await failureOf(credit(customer.id, key));
    expect(conflict).toMatchObject({ statusCode: 409, code: 'idempotency_key_in_use', rawType: 'idempotency_error' });
    expect(fake.balanceTransactions(customer.id)).toHaveLength(0);

    hold.release();
    const created = await first;
    expect((await credit(customer.id, key)).id).toBe(created.id);
    expect(postsWithKey(key).map((entry) => [entry.status, entry.replayed])).toEqual([[200, false], [409, false], [200, true]]);
    expect(fake.balanceTransactions(customer.id)).toHaveLength(1);
  });

  it('saves an applied 500 as the key result while the state did change', async () => {
    const customer = fake.createCustomer({});
    const key = freshKey('applied-500');
    fake.faults.add({ kind: 'error', applied: true, method: 'POST', path: BALANCE_TXNS });

    const first = await failureOf(credit(customer.id, key));
    expect(first).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect(first.statusCode).toBe(500);
    expect(fake.balanceTransactions(customer.id)).toHaveLength(1);

    const replay = await failureOf(credit(customer.id, key));
    expect(replay).toMatchObject({ statusCode: 500, requestId: first.requestId });
    expect(postsWithKey(key).map((entry) => [entry.status, entry.replayed, entry.fault])).toEqual([
      [500, false, 'error'],
      [500, true, undefined],
    ]);
    expect(fake.balanceTransactions(customer.id)).toHaveLength(1);
  });

  it('does not execute or save an unapplied 500', async () => {
    const customer = fake.createCustomer({});
    const key = freshKey('unapplied-500');
    fake.faults.add({ kind: 'error', status: 503, method: 'POST', path: BALANCE_TXNS });
    expect((await failureOf(credit(customer.id, key))).statusCode).toBe(503);
    expect(fake.balanceTransactions(customer.id)).toHaveLength(0);
    await credit(customer.id, key);
    expect(postsWithKey(key).map((entry) => [entry.status, entry.replayed])).toEqual([[503, false], [200, false]]);
  });

  it('lost response: the call fails, but the transaction exists and a same-key retry replays it', async () => {
    const customer = fake.createCustomer({});
    const key = freshKey('lost');
    // stripe-node retries a reset connection once even with maxNetworkRetries: 0,
    // so both its attempts must lose their response for the call to fail.
    fake.faults.add({ kind: 'lost_response', method: 'POST', path: BALANCE_TXNS, times: 2 });

    const error = await failureOf(credit(customer.id, key));
    expect(error).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    const [stored] = fake.balanceTransactions(customer.id);
    expect(stored).toBeDefined();
    expect(postsWithKey(key).map((entry) => [entry.status, entry.replayed])).toEqual([[null, false], [null, true]]);

    const retried = await credit(customer.id, key);
    expect(retried.id).toBe(stored?.id);
    expect(postsWithKey(key).at(-1)).toMatchObject({ status: 200, replayed: true });
    expect(fake.balanceTransactions(customer.id)).toHaveLength(1);
  });

  it('lost response once: the SDK built-in reconnect retry gets the replay', async () => {
    const customer = fake.createCustomer({});
    const key = freshKey('lost-once');
    fake.faults.add({ kind: 'lost_response', method: 'POST', path: BALANCE_TXNS });
    const txn = await credit(customer.id, key);
    expect(postsWithKey(key).map((entry) => [entry.status, entry.replayed])).toEqual([[null, false], [200, true]]);
    expect(fake.balanceTransactions(customer.id).map((stored) => stored.id)).toEqual([txn.id]);
  });

  it('rate limit: 429 with Retry-After, nothing executed or saved', async () => {
    const customer = fake.createCustomer({});
    const key = freshKey('429');
    fake.faults.add({ kind: 'rate_limit', retryAfterSeconds: 2, method: 'POST', path: BALANCE_TXNS });
    const error = await failureOf(credit(customer.id, key));
    expect(error).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    expect(error.statusCode).toBe(429);
    expect(error.headers?.['retry-after']).toBe('2');
    expect(fake.balanceTransactions(customer.id)).toHaveLength(0);

    await credit(customer.id, key);
    expect(postsWithKey(key).map((entry) => [entry.status, entry.replayed])).toEqual([[429, false], [200, false]]);
  });

  it('client timeout while held before execution: nothing happened, the key is free again', async () => {
    const customer = fake.createCustomer({});
    const key = freshKey('timeout');
    const hold = fake.faults.add({ kind: 'timeout', method: 'POST', path: BALANCE_TXNS });
    const error = await failureOf(credit(customer.id, key, { timeout: 100 }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    await waitUntil(() => hold.held === 0, { description: 'held request abandoned' });
    expect(fake.balanceTransactions(customer.id)).toHaveLength(0);

    const txn = await credit(customer.id, key);
    expect(postsWithKey(key).map((entry) => [entry.status, entry.replayed])).toEqual([[null, false], [200, false]]);
    expect(fake.balanceTransactions(customer.id).map((stored) => stored.id)).toEqual([txn.id]);
  });

  it('client timeout on an applied hold: executed anyway, a same-key retry replays it', async () => {
    const customer = fake.createCustomer({});
    const key = freshKey('timeout-applied');
    fake.faults.add({ kind: 'timeout', applied: true, method: 'POST', path: BALANCE_TXNS });
    const error = await failureOf(credit(customer.id, key, { timeout: 100 }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    const [stored] = fake.balanceTransactions(customer.id);

    const retried = await credit(customer.id, key);
    expect(retried.id).toBe(stored?.id);
    expect(postsWithKey(key).at(-1)).toMatchObject({ status: 200, replayed: true });
  });

  it('forgets keys on expireIdempotencyKeys()', async () => {
    const customer = fake.createCustomer({});
    const key = freshKey('expire');
    const first = await credit(customer.id, key);
    fake.expireIdempotencyKeys();
    const second = await credit(customer.id, key);
    expect(second.id).not.toBe(first.id);
    expect(fake.balanceTransactions(customer.id)).toHaveLength(2);
    expect(fake.getCustomer(customer.id)?.balance).toBe(-1_000);
  });

  it('forgets keys older than idempotencyWindowMs', async () => {
    const shortLived = await startFakeStripe({ idempotencyWindowMs: 0 });
    try {
      const client = clientFor(shortLived);
      const customer = shortLived.createCustomer({});
      const params = { amount: -100, currency: 'usd' };
      const first = await client.customers.createBalanceTransaction(customer.id, params, { idempotencyKey: 'same' });
      const second = await client.customers.createBalanceTransaction(customer.id, params, { idempotencyKey: 'same' });
      expect(second.id).not.toBe(first.id);
      expect(shortLived.balanceTransactions()).toHaveLength(2);
    } finally {
      await shortLived.close();
    }
  });
});

describe('fake stripe: lists', () => {
  it('auto-paginates through more than 100 balance transactions', async () => {
    const customer = fake.createCustomer({ currency: 'usd' });
    for (let i = 0; i < 130; i += 1) {
      await stripe.customers.createBalanceTransaction(customer.id, { amount: -(i + 1), currency: 'usd' });
    }
    const before = fake.requestsTo('GET', BALANCE_TXNS).length;

    const seen: Stripe.CustomerBalanceTransaction[] = [];
    for await (const txn of stripe.customers.listBalanceTransactions(customer.id, { limit: 100 })) seen.push(txn);

    const newestFirst = fake.balanceTransactions(customer.id).reverse();
    expect(seen.map((txn) => txn.id)).toEqual(newestFirst.map((txn) => txn.id));
    expect(seen).toHaveLength(130);
    expect(seen[0]).toMatchObject({ amount: -130, ending_balance: -(130 * 131) / 2 });
    const pages = fake.requestsTo('GET', BALANCE_TXNS).slice(before);
    expect(pages.map((page) => page.query)).toEqual([{ limit: '100' }, { limit: '100', starting_after: seen[99]?.id }]);

    const firstPage = await stripe.customers.listBalanceTransactions(customer.id);
    expect(firstPage).toMatchObject({ object: 'list', has_more: true, url: `/v1/customers/${customer.id}/balance_transactions` });
    expect(firstPage.data).toHaveLength(10);
  });
});
