import { ApplicationFailure } from '@temporalio/common';
import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { apiRefundParams } from '../src/api/refund-payment.js';
import { callerKeyDigest } from '../src/db/idempotency-keys.js';
import { stripeKeyForApiRefund } from '../src/domain/idempotency-keys.js';
import { readPaymentTruth } from '../src/stripe/read-payment-truth.js';
import { createStripeBooksSync, type StripeBooksSync } from '../activities/stripe-books-sync.js';
import { createAccount } from '../src/db/accounts.js';
import { applyMovements, loadPaymentBooks } from '../src/db/payment-books.js';
import { ensureTool, STRIPE_MOCK } from '../src/dev/go-tools.js';
import { startStripeMock, STRIPE_MOCK_SECRET_KEY, type RunningStripeMock } from '../src/dev/stripe-mock.js';
import { FAILURE_TYPES } from '../src/domain/failure-types.js';
import { ledgerKeyForPaymentCredit, ledgerKeyForRefundDebit } from '../src/domain/idempotency-keys.js';
import type { Movement } from '../src/domain/payment-movements.js';
import { createStripeClient, type StripeClient } from '../src/stripe/stripe-client.js';
import { toActivityFailure } from '../activities/stripe-activity-failure.js';
import { createTestContext, type TestContext } from './support/test-context.js';
import { createSubscriptionActivities } from '../activities/subscription-activities.js';
import { subscriptionItemsListParams } from '../src/subscriptions/read-subscription.js';
import { findSubscription } from '../src/subscriptions/subscription-store.js';
import { createStripeEventPageActivities, stripeEventPageParams } from '../activities/stripe-event-backfill-activities.js';
import { eventTypeGroups, HANDLED_EVENT_TYPES } from '../src/domain/stripe-events.js';

/**
 * payconfirm's Stripe activities against Stripe's own stripe-mock, which validates each request against
 * Stripe's OpenAPI spec (400 for an unknown parameter, a wrong type, a missing required one) and answers
 * with fixtures. It is stateless: this checks request and response shapes, not behaviour (the fake does that).
 * syncStripeBooks records its mirror in Postgres, so this file also gets its own migrated schema.
 */
let mock: RunningStripeMock;
let stripe: StripeClient;
let ctx: TestContext;
let stripeBooks: StripeBooksSync;
let accountId: string;
let responses: Array<{ method: string; path: string; status: number; idempotencyKey: string | undefined }>;

const PI = 'pi_3ConformanceTest0001';
const CUSTOMER = 'cus_ConformanceTest01';
const REFUND = 're_3ConformanceTest0001';

beforeAll(async () => {
  mock = await startStripeMock({ binaryPath: await ensureTool(STRIPE_MOCK, (line) => process.stderr.write(`${line}\n`)) });
  stripe = createStripeClient({ secretKey: STRIPE_MOCK_SECRET_KEY, apiBase: mock.url, timeoutMs: 5_000 });
  stripe.on('response', (e: { method?: string; path?: string; status?: number; idempotency_key?: string }) =>
    responses.push({ method: e.method ?? '', path: e.path ?? '', status: e.status ?? 0, idempotencyKey: e.idempotency_key }),
  );
  ctx = await createTestContext('stripe-mock-conformance');
  accountId = (await createAccount(ctx.pool, { stripeCustomerId: CUSTOMER })).account.id;
  stripeBooks = createStripeBooksSync({ stripe, pool: ctx.pool });
});
afterAll(async () => {
  await mock?.stop();
  await ctx?.close();
});
beforeEach(() => {
  responses = [];
});


const byPath = (a: { path: string }, b: { path: string }) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

describe('Stripe activities against stripe-mock (request shapes checked by Stripe\'s OpenAPI spec)', () => {
  it('readPaymentTruth: the expanded retrieve and both lists (forced by the books) are accepted and the answer parses', async () => {
    const truth = await readPaymentTruth(stripe, PI, { refundsBooked: true, disputesBooked: true });
    expect(truth.paymentIntent).toEqual({
      id: PI,
      status: expect.stringMatching(/^(requires_payment_method|requires_confirmation|requires_action|processing|requires_capture|canceled|succeeded)$/),
      amountMinor: expect.any(Number),
      amountReceivedMinor: expect.any(Number),
      currency: expect.stringMatching(/^[a-z]{3}$/),
      customerId: null,
      metadata: expect.any(Object),
    });
    expect(Number.isInteger(truth.paymentIntent.amountMinor)).toBe(true);
    // latest_charge came back expanded (a bare id would have thrown), with the two facts the lists depend on.
    expect(truth.charge).toEqual({ id: expect.stringMatching(/^ch_/), amountRefundedMinor: expect.any(Number), disputed: expect.any(Boolean) });

    expect(truth.refunds.length).toBeGreaterThan(0);
    for (const refund of truth.refunds) {
      expect(refund).toEqual({
        id: expect.stringMatching(/^(re|pyr)_/),
        amountMinor: expect.any(Number),
        currency: expect.stringMatching(/^[a-z]{3}$/),
        status: expect.stringMatching(/^(pending|requires_action|succeeded|failed|canceled)$/),
      });
      expect(Number.isInteger(refund.amountMinor)).toBe(true);
    }
    expect(truth.disputes.length).toBeGreaterThan(0);
    for (const dispute of truth.disputes) {
      expect(dispute).toEqual({
        id: expect.stringMatching(/^(dp|du)_/),
        amountMinor: expect.any(Number),
        currency: expect.stringMatching(/^[a-z]{3}$/),
        status: expect.stringMatching(/^(warning_needs_response|warning_under_review|warning_closed|needs_response|under_review|won|lost)$/),
        fundsWithdrawn: expect.any(Boolean),
        fundsReinstated: expect.any(Boolean),
      });
      expect(Number.isInteger(dispute.amountMinor)).toBe(true);
    }

    // The two lists go out together, so their order is not fixed.
    expect([...responses].sort(byPath)).toEqual([
      { method: 'GET', path: `/v1/disputes?payment_intent=${PI}&limit=100`, status: 200, idempotencyKey: undefined },
      { method: 'GET', path: `/v1/payment_intents/${PI}?expand[0]=latest_charge`, status: 200, idempotencyKey: undefined },
      { method: 'GET', path: `/v1/refunds?payment_intent=${PI}&limit=100`, status: 200, idempotencyKey: undefined },
    ]);
  });

  it('syncStripeBooks: the lookups, the keyed mirror POSTs and the keyed credit mark are accepted; the mirror lands in Postgres', async () => {
    const creditKey = ledgerKeyForPaymentCredit(PI);
    const refundKey = ledgerKeyForRefundDebit(REFUND);
    const movements: Movement[] = [
      { key: creditKey, kind: 'payment_credit', paymentIntentId: PI, amountMinor: 2_500, currency: 'usd', stripeObjectId: PI },
      { key: refundKey, kind: 'refund_debit', paymentIntentId: PI, amountMinor: -100, currency: 'usd', stripeObjectId: REFUND },
    ];
    await applyMovements(ctx.pool, accountId, movements);
    const books = await loadPaymentBooks(ctx.pool, PI);
    expect(books.movements.map((m) => [m.key, m.balanceTransactionId])).toEqual([
      [creditKey, null],
      [refundKey, null],
    ]);
    const creditEntryId = books.movements[0]!.ledgerEntryId;

    const result = await stripeBooks.syncStripeBooks({
      paymentIntentId: PI,
      // Nothing created this run: each movement is looked up before it is written.
      mirror: { customerId: CUSTOMER, movements: books.movements, createdNow: [] },
      mark: { ledgerEntryId: creditEntryId, creditMovementKey: creditKey, knownBalanceTransactionId: null },
    });

    // stripe-mock's fixture list holds no transaction for these movements, so each was created (with a fresh id).
    expect(result).toEqual({
      mirrored: { [creditKey]: expect.stringMatching(/^cbtxn_/), [refundKey]: expect.stringMatching(/^cbtxn_/) },
      repaired: {},
      marked: 'marked',
    });
    expect(result.mirrored[creditKey]).not.toBe(result.mirrored[refundKey]);
    expect(responses).toEqual([
      { method: 'GET', path: `/v1/customers/${CUSTOMER}/balance_transactions?limit=100`, status: 200, idempotencyKey: undefined },
      { method: 'POST', path: `/v1/customers/${CUSTOMER}/balance_transactions`, status: 200, idempotencyKey: `credit-tx:${PI}` },
      { method: 'GET', path: `/v1/customers/${CUSTOMER}/balance_transactions?limit=100`, status: 200, idempotencyKey: undefined },
      { method: 'POST', path: `/v1/customers/${CUSTOMER}/balance_transactions`, status: 200, idempotencyKey: `mirror-tx:stripe:refund:${REFUND}` },
      { method: 'POST', path: `/v1/payment_intents/${PI}`, status: 200, idempotencyKey: `credit-mark:${PI}` },
    ]);

    // The mirror rows passed ledger_mirror's CHECKs (cus_…, cbtxn_…), its FKs and its matches-movement trigger.
    const { rows } = await ctx.pool.query<{ movement_key: string; ledger_entry_id: string; stripe_customer_id: string; balance_transaction_id: string; amount_minor: string; currency: string }>(
      'SELECT movement_key, ledger_entry_id, stripe_customer_id, balance_transaction_id, amount_minor::text, currency FROM ledger_mirror ORDER BY amount_minor',
    );
    expect(rows).toEqual([
      { movement_key: creditKey, ledger_entry_id: creditEntryId, stripe_customer_id: CUSTOMER, balance_transaction_id: result.mirrored[creditKey], amount_minor: '-2500', currency: 'usd' },
      { movement_key: refundKey, ledger_entry_id: books.movements[1]!.ledgerEntryId, stripe_customer_id: CUSTOMER, balance_transaction_id: result.mirrored[refundKey], amount_minor: '100', currency: 'usd' },
    ]);
    expect((await loadPaymentBooks(ctx.pool, PI)).movements.map((m) => [m.key, m.balanceTransactionId])).toEqual([
      [creditKey, result.mirrored[creditKey]],
      [refundKey, result.mirrored[refundKey]],
    ]);
  });

  it('syncStripeBooks verify (reconcile --fix): the list and the keyed repair POSTs are accepted; the repairs land in Postgres', async () => {
    const mirrored = (await loadPaymentBooks(ctx.pool, PI)).movements;
    expect(mirrored.every((m) => m.balanceTransactionId !== null)).toBe(true);
    const result = await stripeBooks.syncStripeBooks({ paymentIntentId: PI, mirror: null, verify: { customerId: CUSTOMER, movements: mirrored }, mark: null });

    // stripe-mock's list never holds the transactions it made (it keeps no state): each one is repaired.
    expect(Object.keys(result.repaired).sort()).toEqual(mirrored.map((m) => m.key).sort());
    expect(responses).toEqual([
      { method: 'GET', path: `/v1/customers/${CUSTOMER}/balance_transactions?limit=100`, status: 200, idempotencyKey: undefined },
      ...mirrored.map((m) => ({
        method: 'POST',
        path: `/v1/customers/${CUSTOMER}/balance_transactions`,
        status: 200,
        idempotencyKey: `mirror-repair:${m.key}:${m.balanceTransactionId}`,
      })),
    ]);
    expect((await loadPaymentBooks(ctx.pool, PI)).movements.map((m) => m.balanceTransactionId)).toEqual(mirrored.map((m) => result.repaired[m.key]));
  });
});

describe('the API\'s own Stripe writes against stripe-mock', () => {
  it('POST /billing/refunds: the keyed refund (payment_intent, amount, metadata) is accepted', async () => {
    const accountId = '3f1c2b9e-8d4a-4c7e-9b1a-2e5f6a7b8c9d';
    const key = stripeKeyForApiRefund(accountId, callerKeyDigest('caller-key-1'));
    const created = await stripe.refunds.create(apiRefundParams(PI, 100, accountId, '6b0f3c1e-2a4d-4e8f-9c7b-1d2e3f4a5b6c'), { idempotencyKey: key });
    expect(created.id).toMatch(/^re_/);
    expect(responses).toEqual([{ method: 'POST', path: '/v1/refunds', status: 200, idempotencyKey: key }]);
  });
});

describe('the event backfill\'s page against stripe-mock', () => {
  it('listStripeEventPage: GET /v1/events with created[gte], one group of the handled types[], limit 100 and starting_after is accepted; its events land in the inbox', async () => {
    const page = createStripeEventPageActivities({ stripe, pool: ctx.pool, warn: () => {} });
    const groups = eventTypeGroups(HANDLED_EVENT_TYPES);
    expect(groups.flat()).toEqual([...HANDLED_EVENT_TYPES]);
    for (const group of groups) expect(group.length).toBeLessThanOrEqual(20); // Stripe's limit for types[]
    const input = { fromCreated: 1_700_000_000, startingAfter: 'evt_ConformanceCursor01', limit: 100, types: groups.at(-1)! };
    const result = await page.listStripeEventPage(input);

    const types = groups.at(-1)!.map((t, i) => `&types[${i}]=${t}`).join('');
    expect(responses).toEqual([
      { method: 'GET', path: `/v1/events?created[gte]=1700000000${types}&limit=100&starting_after=evt_ConformanceCursor01`, status: 200, idempotencyKey: undefined },
    ]);
    expect(Object.keys(stripeEventPageParams(input))).toEqual(['created', 'types', 'limit', 'starting_after']);
    // stripe-mock answers its fixture events whatever the filter; each is recorded (or counted) once.
    expect(result.listed).toBeGreaterThan(0);
    expect(result.inserted + result.alreadyPresent + result.malformed).toBe(result.listed);
    expect(result.lastEventId).toMatch(/^evt_/);
    expect(typeof result.hasMore).toBe('boolean');
    const { rows } = await ctx.pool.query("SELECT count(*)::int AS n FROM stripe_webhook_events WHERE source = 'backfill'");
    expect(rows[0].n).toBe(result.inserted);
  });
});

describe('the subscription\'s read against stripe-mock', () => {
  const SUB = 'sub_ConformanceTest0001';

  it('syncSubscription: GET /v1/subscriptions/{id} with no parameters is accepted, the answer parses, and the row lands in Postgres', async () => {
    const activities = createSubscriptionActivities({ stripe, pool: ctx.pool });
    const result = await activities.syncSubscription({ subscriptionId: SUB, lastEventId: 'evt_ConformanceSub0001' });
    expect(result).toMatchObject({ kind: 'synced', write: 'created', version: 1, notificationId: expect.stringMatching(new RegExp(`^stripe:subscription:${SUB}:v1:`)) });
    expect(responses).toEqual([{ method: 'GET', path: `/v1/subscriptions/${SUB}`, status: 200, idempotencyKey: undefined }]);

    // The row passed the table's CHECKs; money as integer minor units with a currency, per item.
    const row = await findSubscription(ctx.pool, SUB);
    expect(row).toMatchObject({ id: SUB, customer_id: expect.stringMatching(/^cus_/), status: expect.stringMatching(/^[a-z_]+$/), currency: expect.stringMatching(/^[a-z]{3}$/), version: 1 });
    expect(row!.items.length).toBeGreaterThan(0);
    for (const item of row!.items) {
      expect(item).toMatchObject({ id: expect.stringMatching(/^si_/), price_id: expect.stringMatching(/^price_/), currency: expect.stringMatching(/^[a-z]{3}$/) });
      expect(item.unit_amount_minor === null || Number.isInteger(item.unit_amount_minor)).toBe(true);
      expect(item.current_period_start).not.toBeNull(); // the billing period is on the items in this API version
    }
  });

  it('the items list (a subscription with more than 10 items): GET /v1/subscription_items?subscription=…&limit=100 is accepted', async () => {
    const items = await stripe.subscriptionItems.list(subscriptionItemsListParams(SUB));
    expect(items.data.every((i) => i.object === 'subscription_item')).toBe(true);
    expect(responses).toEqual([{ method: 'GET', path: `/v1/subscription_items?subscription=${SUB}&limit=100`, status: 200, idempotencyKey: undefined }]);
  });

  it('an unknown parameter on the retrieve would be a 400 (so the check above can fail)', async () => {
    await expect(stripe.subscriptions.retrieve(SUB, { payment_intent: 'pi_x' } as Stripe.SubscriptionRetrieveParams)).rejects.toMatchObject({ statusCode: 400 });
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
