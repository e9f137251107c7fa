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

/** The latest charge of an intent, read through the API. */
async function chargeOf(intentId: string): Promise<Stripe.Charge> {
  const intent = await stripe.paymentIntents.retrieve(intentId);
  return stripe.charges.retrieve(typeof intent.latest_charge === 'string' ? intent.latest_charge : '');
}

describe('fake stripe: refund lifecycle', () => {
  it('reserves a pending refund and gives the amount back when it fails or is canceled', async () => {
    const intent = fake.createPaymentIntent({ amount: 5_000, currency: 'usd' });
    const pending = fake.refundPaymentIntent(intent.id, 2_000, { status: 'pending' });
    expect(pending).toMatchObject({ status: 'pending', failure_reason: null });
    expect(await chargeOf(intent.id)).toMatchObject({ amount_refunded: 2_000, refunded: false });
    const tooLarge = await failureOf(stripe.refunds.create({ payment_intent: intent.id, amount: 3_001 }));
    expect(tooLarge).toMatchObject({ statusCode: 400, code: 'amount_too_large' });

    fake.setRefundStatus(pending.id, 'failed', { failureReason: 'expired_or_canceled_card' });
    expect(await stripe.refunds.retrieve(pending.id)).toMatchObject({ status: 'failed', failure_reason: 'expired_or_canceled_card' });
    expect(await chargeOf(intent.id)).toMatchObject({ amount_refunded: 0, refunded: false });

    const viaApi = await stripe.refunds.create({ payment_intent: intent.id, amount: 3_000 });
    expect(viaApi.status).toBe('succeeded');
    const needsAction = fake.refundPaymentIntent(intent.id, undefined, { status: 'requires_action' });
    expect(needsAction.amount).toBe(2_000);
    expect(await chargeOf(intent.id)).toMatchObject({ amount_refunded: 5_000, refunded: true });
    expect(fake.setRefundStatus(needsAction.id, 'pending').status).toBe('pending');
    expect(fake.setRefundStatus(needsAction.id, 'canceled')).toMatchObject({ status: 'canceled', failure_reason: null });
    expect(await chargeOf(intent.id)).toMatchObject({ amount_refunded: 3_000, refunded: false });

    // Some payment methods fail a refund after it succeeded.
    expect(fake.setRefundStatus(viaApi.id, 'failed')).toMatchObject({ status: 'failed', failure_reason: 'unknown' });
    expect(await chargeOf(intent.id)).toMatchObject({ amount_refunded: 0, refunded: false });
    const statuses = (await stripe.refunds.list({ payment_intent: intent.id })).data.map((refund) => [refund.id, refund.status]);
    expect(statuses).toEqual([[needsAction.id, 'canceled'], [viaApi.id, 'failed'], [pending.id, 'failed']]);
  });

  it('refuses a move Stripe never makes and changes nothing', async () => {
    const intent = fake.createPaymentIntent({ amount: 1_000, currency: 'usd' });
    const refund = fake.refundPaymentIntent(intent.id, 400);
    expect(() => fake.setRefundStatus(refund.id, 'pending')).toThrow(/cannot go from succeeded to pending/);
    expect(() => fake.setRefundStatus(refund.id, 'canceled')).toThrow(/cannot go from succeeded to canceled/);
    expect(() => fake.setRefundStatus(refund.id, 'succeeded', { failureReason: 'declined' })).toThrow(Error);
    fake.setRefundStatus(refund.id, 'failed');
    expect(() => fake.setRefundStatus(refund.id, 'succeeded')).toThrow(/cannot go from failed to succeeded/);

    expect(fake.getRefund(refund.id)?.status).toBe('failed');
    expect(await chargeOf(intent.id)).toMatchObject({ amount_refunded: 0 });
  });

  it('retrieves a refund with expansion, and answers 404 for an unknown one', async () => {
    const intent = fake.createPaymentIntent({ amount: 900, currency: 'eur' });
    const refund = fake.refundPaymentIntent(intent.id, 300, { status: 'pending' });
    const retrieved = await stripe.refunds.retrieve(refund.id, { expand: ['charge'] });
    expect(retrieved).toMatchObject({ id: refund.id, object: 'refund', amount: 300, status: 'pending', payment_intent: intent.id });
    expect(retrieved.charge).toMatchObject({ object: 'charge', amount_refunded: 300 });

    const copy = fake.getRefund(refund.id);
    if (copy !== undefined) copy.status = 'succeeded';
    expect(fake.getRefund(refund.id)?.status).toBe('pending');

    const missing = await failureOf(stripe.refunds.retrieve('re_doesnotexist'));
    expect(missing).toMatchObject({ statusCode: 404, code: 'resource_missing', message: "No such refund: 're_doesnotexist'" });
  });
});

describe('fake stripe: disputes', () => {
  it('an inquiry that closes moves no money', async () => {
    const intent = fake.createPaymentIntent({ amount: 2_500, currency: 'usd' });
    const inquiry = fake.createDispute(intent.id, { inquiry: true, reason: 'product_not_received' });
    expect(inquiry).toMatchObject({
      id: expect.stringMatching(/^dp_/),
      object: 'dispute',
      amount: 2_500,
      balance_transactions: [],
      charge: intent.latest_charge,
      payment_intent: intent.id,
      reason: 'product_not_received',
      status: 'warning_needs_response',
    });
    expect((await chargeOf(intent.id)).disputed).toBe(true);

    fake.setDisputeStatus(inquiry.id, 'warning_under_review');
    const closed = fake.setDisputeStatus(inquiry.id, 'warning_closed');
    expect(closed).toMatchObject({ status: 'warning_closed', balance_transactions: [] });
    expect(() => fake.setDisputeStatus(inquiry.id, 'needs_response')).toThrow(/cannot go from warning_closed/);
  });

  it('a won chargeback withdraws the funds, then reinstates them', async () => {
    const intent = fake.createPaymentIntent({ amount: 4_000, currency: 'usd' });
    fake.refundPaymentIntent(intent.id, 1_000);
    const dispute = fake.createDispute(intent.id);
    expect(dispute).toMatchObject({ amount: 3_000, reason: 'fraudulent', status: 'needs_response' });
    expect(dispute.balance_transactions).toEqual([
      expect.objectContaining({ object: 'balance_transaction', amount: -3_000, currency: 'usd', reporting_category: 'dispute', type: 'adjustment' }),
    ]);

    fake.setDisputeStatus(dispute.id, 'under_review');
    fake.setDisputeStatus(dispute.id, 'won');
    const won = await stripe.disputes.retrieve(dispute.id);
    expect(won.status).toBe('won');
    expect(won.balance_transactions.map((txn) => [txn.amount, txn.reporting_category])).toEqual([
      [-3_000, 'dispute'],
      [3_000, 'dispute_reversal'],
    ]);
    expect(won.balance_transactions.every((txn) => /^txn_/.test(txn.id))).toBe(true);
    expect(() => fake.setDisputeStatus(dispute.id, 'lost')).toThrow(/cannot go from won to lost/);
  });

  it('a lost chargeback keeps the withdrawal; an escalated inquiry withdraws then', async () => {
    const lostIntent = fake.createPaymentIntent({ amount: 1_200, currency: 'usd' });
    const lost = fake.createDispute(lostIntent.id, { amount: 700 });
    expect(fake.setDisputeStatus(lost.id, 'lost').balance_transactions.map((txn) => txn.amount)).toEqual([-700]);

    const escalatedIntent = fake.createPaymentIntent({ amount: 800, currency: 'usd' });
    const inquiry = fake.createDispute(escalatedIntent.id, { inquiry: true });
    const escalated = fake.setDisputeStatus(inquiry.id, 'needs_response');
    expect(escalated.balance_transactions.map((txn) => [txn.amount, txn.reporting_category])).toEqual([[-800, 'dispute']]);
    expect(fake.getDispute(inquiry.id)?.balance_transactions).toHaveLength(1);

    const unpaid = fake.createPaymentIntent({ amount: 800, currency: 'usd', status: 'requires_payment_method' });
    expect(() => fake.createDispute(unpaid.id)).toThrow(/no charge/);
  });

  it('lists disputes newest first, filtered by payment_intent or charge, with expansion', async () => {
    const first = fake.createPaymentIntent({ amount: 1_000, currency: 'usd' });
    const second = fake.createPaymentIntent({ amount: 2_000, currency: 'usd' });
    const older = fake.createDispute(first.id);
    const newer = fake.createDispute(second.id, { inquiry: true });

    const ofFirst = await stripe.disputes.list({ payment_intent: first.id, expand: ['data.payment_intent'] });
    expect(ofFirst).toMatchObject({ object: 'list', has_more: false, url: '/v1/disputes' });
    expect(ofFirst.data.map((dispute) => dispute.id)).toEqual([older.id]);
    expect(ofFirst.data[0]?.payment_intent).toMatchObject({ id: first.id, object: 'payment_intent' });

    const ofCharge = await stripe.disputes.list({ charge: second.latest_charge ?? '' });
    expect(ofCharge.data.map((dispute) => dispute.id)).toEqual([newer.id]);

    const all = (await stripe.disputes.list({ limit: 100 })).data.map((dispute) => dispute.id);
    expect(all.indexOf(newer.id)).toBeGreaterThanOrEqual(0);
    expect(all.indexOf(newer.id)).toBeLessThan(all.indexOf(older.id));
  });

  it('retrieves a dispute with its charge expanded, and answers 404 for an unknown one', async () => {
    const intent = fake.createPaymentIntent({ amount: 1_500, currency: 'usd' });
    const dispute = fake.createDispute(intent.id);
    const retrieved = await stripe.disputes.retrieve(dispute.id, { expand: ['charge'] });
    expect(retrieved).toMatchObject({ id: dispute.id, amount: 1_500, is_charge_refundable: false, livemode: false, metadata: {} });
    expect(retrieved.charge).toMatchObject({ id: intent.latest_charge, disputed: true });

    const missing = await failureOf(stripe.disputes.retrieve('dp_doesnotexist'));
    expect(missing).toMatchObject({ statusCode: 404, code: 'resource_missing' });
  });
});

describe('fake stripe: drift and limits', () => {
  it('a deleted customer is a stub on retrieve and refuses a balance transaction with 404', async () => {
    const customer = fake.createCustomer({ email: 'gone@example.com' });
    await credit(customer.id, freshKey('before-delete'), { amount: -200 });
    expect(fake.deleteCustomer(customer.id)).toEqual({ id: customer.id, object: 'customer', deleted: true });

    expect(await stripe.customers.retrieve(customer.id)).toMatchObject({ id: customer.id, object: 'customer', deleted: true });
    const refused = await failureOf(credit(customer.id, freshKey('after-delete')));
    expect(refused).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(refused).toMatchObject({ statusCode: 404, code: 'resource_missing', message: `No such customer: '${customer.id}'` });
    expect(fake.balanceTransactions(customer.id)).toHaveLength(1);
    expect(fake.getCustomer(customer.id)).toBeUndefined();
  });

  it('deleteBalanceTransaction undoes the transaction and frees its idempotency key', async () => {
    const customer = fake.createCustomer({});
    const key = freshKey('drift');
    const otherKey = freshKey('drift-other');
    const doomed = await credit(customer.id, key, { amount: -500 });
    const kept = await credit(customer.id, otherKey, { amount: -100 });
    expect(kept.ending_balance).toBe(-600);
    expect((await credit(customer.id, key, { amount: -500 })).id).toBe(doomed.id);

    fake.deleteBalanceTransaction(doomed.id);
    expect(fake.getCustomer(customer.id)?.balance).toBe(-100);
    const listed = await stripe.customers.listBalanceTransactions(customer.id);
    expect(listed.data.map((txn) => [txn.id, txn.ending_balance])).toEqual([[kept.id, -100]]);

    const recreated = await credit(customer.id, key, { amount: -500 });
    expect(recreated.id).not.toBe(doomed.id);
    expect(recreated.lastResponse.headers['idempotent-replayed']).toBeUndefined();
    expect(recreated.ending_balance).toBe(-600);
    expect((await credit(customer.id, otherKey, { amount: -100 })).id).toBe(kept.id);
    expect(fake.balanceTransactions(customer.id).map((txn) => txn.id)).toEqual([kept.id, recreated.id]);
  });

  it('rejects metadata over Stripe limits with a 400 on param metadata', async () => {
    const tooMany = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v']));
    const onCreate = await failureOf(stripe.customers.create({ metadata: tooMany }));
    expect(onCreate).toMatchObject({ statusCode: 400, type: 'StripeInvalidRequestError', param: 'metadata' });

    const fifty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v']));
    const intent = await stripe.paymentIntents.create({ amount: 100, currency: 'usd', metadata: fifty });
    const onMerge = await failureOf(stripe.paymentIntents.update(intent.id, { metadata: { one_more: 'x' } }));
    expect(onMerge).toMatchObject({ statusCode: 400, param: 'metadata' });
    expect(Object.keys(fake.getPaymentIntent(intent.id)?.metadata ?? {})).toHaveLength(50);

    const longKey = await failureOf(stripe.customers.create({ metadata: { ['k'.repeat(41)]: 'v' } }));
    expect(longKey).toMatchObject({ statusCode: 400, param: 'metadata' });
    const longValue = await failureOf(stripe.customers.create({ metadata: { k: 'v'.repeat(501) } }));
    expect(longValue).toMatchObject({ statusCode: 400, param: 'metadata' });
    expect((await stripe.customers.create({ metadata: { ['k'.repeat(40)]: 'v'.repeat(500) } })).object).toBe('customer');
  });
});

describe('fake stripe: subscriptions', () => {
  it('serves a subscription as created, updated, renewed and canceled (still retrievable, canceled); 404 for an unknown one', async () => {
    const customer = fake.createCustomer();
    const created = fake.createSubscription({ customer: customer.id, currency: 'eur', items: [{ unitAmount: 1_200, quantity: 2 }] });
    const item = created.items.data[0]!;
    expect(created).toMatchObject({ object: 'subscription', status: 'active', currency: 'eur', customer: customer.id, cancel_at_period_end: false, canceled_at: null });
    expect(item).toMatchObject({ object: 'subscription_item', quantity: 2, price: { unit_amount: 1_200, currency: 'eur', recurring: { interval: 'month', interval_count: 1 } } });
    expect(item.current_period_end).toBeGreaterThan(item.current_period_start);

    const retrieved = await stripe.subscriptions.retrieve(created.id);
    expect(retrieved.items.data[0]!.current_period_start).toBe(item.current_period_start);
    expect(retrieved).toMatchObject({
      id: created.id,
      status: 'active',
      currency: 'eur',
      customer: customer.id,
      items: { object: 'list', has_more: false, data: [{ id: item.id, quantity: 2, price: { id: item.price.id, unit_amount: 1_200, product: item.price.product } }] },
    });

    fake.updateSubscription(created.id, { quantity: 5, cancelAtPeriodEnd: true });
    const renewed = fake.renewSubscription(created.id);
    expect(renewed.items.data[0]!.current_period_start).toBe(item.current_period_end);
    expect(await stripe.subscriptions.retrieve(created.id)).toMatchObject({ cancel_at_period_end: true, items: { data: [{ quantity: 5 }] } });

    fake.cancelSubscription(created.id);
    expect(await stripe.subscriptions.retrieve(created.id)).toMatchObject({ status: 'canceled', canceled_at: expect.any(Number), ended_at: expect.any(Number) });
    expect(() => fake.updateSubscription(created.id, { quantity: 1 })).toThrow(/canceled/);

    expect(await failureOf(stripe.subscriptions.retrieve('sub_Unknown0001'))).toMatchObject({ statusCode: 404, code: 'resource_missing' });
    expect(await failureOf(stripe.subscriptions.retrieve(created.id, { bogus: 1 } as Stripe.SubscriptionRetrieveParams))).toMatchObject({ statusCode: 400 });
  });

  it('embeds the first 10 items (has_more beyond); GET /v1/subscription_items lists them all', async () => {
    const customer = fake.createCustomer();
    const sub = fake.createSubscription({ customer: customer.id, items: Array.from({ length: 12 }, (_, i) => ({ unitAmount: 10 + i })) });
    const retrieved = await stripe.subscriptions.retrieve(sub.id);
    expect(retrieved.items.data).toHaveLength(10);
    expect(retrieved.items.has_more).toBe(true);
    const all: Stripe.SubscriptionItem[] = [];
    for await (const i of stripe.subscriptionItems.list({ subscription: sub.id, limit: 5 })) all.push(i);
    expect(all.map((i) => i.price.unit_amount)).toEqual(Array.from({ length: 12 }, (_, i) => 10 + i));
    expect(await failureOf(stripe.subscriptionItems.list({} as Stripe.SubscriptionItemListParams))).toMatchObject({ statusCode: 400, param: 'subscription' });
  });
});

describe('fake stripe: rate limiter', () => {
  it('holds a sliding second per operation (method + path template) and for the account, answering 429 rate_limit_error', async () => {
    const limited = await startFakeStripe({ rateLimits: { accountPerSecond: 5, operationPerSecond: 3 } });
    try {
      const client = clientFor(limited);
      const customers = Array.from({ length: 5 }, () => limited.createCustomer());
      // Four reads of one operation (different ids: one template) at once: the fourth is over the operation's 3.
      const reads = await Promise.allSettled(customers.slice(0, 4).map((c) => client.customers.retrieve(c.id)));
      expect(reads.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
      const refused = reads.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      const error = refused.reason as Stripe.errors.StripeError;
      expect(error.type).toBe('StripeRateLimitError');
      expect(error.statusCode).toBe(429);
      expect(error.raw).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit' });
      expect(error.headers?.['retry-after']).toBe('1');
      // Another operation still has room, until the account's 5 are spent (the refused read did not count).
      const others = await Promise.allSettled(customers.slice(0, 3).map((c) => client.customers.listBalanceTransactions(c.id)));
      expect(others.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
      expect(limited.requests.map((r) => r.status).filter((s) => s === 429)).toHaveLength(2);

      // A second later both windows have slid past: the same read is accepted again.
      const firstAt = limited.requests[0]!.at;
      await waitUntil(() => Date.now() > firstAt + 1_000, { timeoutMs: 3_000 });
      const again = await client.customers.retrieve(customers[4]!.id);
      expect(again.id).toBe(customers[4]!.id);
    } finally {
      await limited.close();
    }
  });

  it('without rateLimits nothing is refused', async () => {
    const customer = fake.createCustomer();
    const reads = await Promise.all(Array.from({ length: 40 }, () => stripe.customers.retrieve(customer.id)));
    expect(reads).toHaveLength(40);
  });
});
