import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createAccount } from '../src/db/accounts.js';
import type { AttentionReason } from '../src/domain/payment.js';
import {
  listStuckPayments,
  OperatorUpdateRefusedError,
  PaymentNotRunningError,
  queryPaymentState,
  sendOperatorUpdate,
  STUCK_PAYMENTS_QUERY,
} from '../src/temporal/payment-operations.js';
import { eventually } from './support/eventually.js';
import { startFakeStripe, type FakeStripe, type FaultHandle } from './support/fake-stripe/index.js';
import { outcomeOf, startPayment, terminateRunning, waitForAttention } from './support/operator-fixtures.js';
import { moneyFor, newCustomer, newPaymentIntent, type Customer } from './support/payment-fixtures.js';
import { createTestContext, startTestWorkers, stripeClientFor, TEST_TUNING, type RunningWorkers, type TestContext } from './support/test-context.js';

let ctx: TestContext;
let fake: FakeStripe;
let workers: RunningWorkers;

beforeAll(async () => {
  ctx = await createTestContext('operator');
  fake = await startFakeStripe();
  workers = await startTestWorkers(ctx, { stripe: stripeClientFor(fake.url) });
});
afterAll(async () => {
  if (ctx) await terminateRunning(ctx);
  await workers?.stop();
  await fake?.close();
  await ctx?.close();
});

const ledgerCreditsOf = async (pi: string) =>
  (await ctx.pool.query<{ account_id: string; amount_minor: number }>(
    "SELECT account_id, amount_minor FROM ledger_entries WHERE payment_intent_id = $1 AND kind = 'payment_credit'",
    [pi],
  )).rows;

/** What the UI shows as the workflow's "current details" (the built-in metadata query). */
const currentDetailsOf = async (pi: string): Promise<string> =>
  ((await ctx.client.workflow.getHandle(pi).query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails ?? '');

const refusalOf = async (promise: Promise<unknown>): Promise<OperatorUpdateRefusedError> => {
  const err = await promise.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(OperatorUpdateRefusedError);
  return err as OperatorUpdateRefusedError;
};

describe('needs_attention: each reason waits in plain sight, and operators settle it', () => {
  let linked: Customer; // a customer with an account, for resolve
  const pis = {} as Record<
    'noAccountResolve' | 'noAccountRetry' | 'noCustomer' | 'zeroAmount' | 'badCurrency' | 'idempotency' | 'retryBudget' | 'currencyRefused' | 'healthy' | 'processing',
    string
  >;
  const customers = {} as Record<'noAccountResolve' | 'noAccountRetry' | 'idempotency' | 'retryBudget' | 'healthy', string>;
  let budgetFault: FaultHandle;

  beforeAll(async () => {
    linked = await newCustomer(ctx, fake);
    customers.noAccountResolve = fake.createCustomer().id;
    customers.noAccountRetry = fake.createCustomer().id;
    pis.noAccountResolve = newPaymentIntent(fake, customers.noAccountResolve, { amount: 1_100 });
    pis.noAccountRetry = newPaymentIntent(fake, customers.noAccountRetry, { amount: 1_200 });
    pis.noCustomer = newPaymentIntent(fake, null, { amount: 1_300 });

    const anomalous = await newCustomer(ctx, fake);
    pis.zeroAmount = newPaymentIntent(fake, anomalous.customerId, { amount: 0 }); // succeeded, amount_received 0
    pis.badCurrency = newPaymentIntent(fake, anomalous.customerId, { amount: 1_400, currency: 'us$' });

    customers.idempotency = (await newCustomer(ctx, fake)).customerId;
    pis.idempotency = newPaymentIntent(fake, customers.idempotency, { amount: 1_500 });
    // Someone else spent our Idempotency-Key with other parameters and without metadata.payment_intent:
    // our lookup misses it and our POST is answered with an idempotency_error.
    await stripeClientFor(fake.url).customers.createBalanceTransaction(
      customers.idempotency,
      { amount: -1, currency: 'usd', description: 'manual adjustment' },
      { idempotencyKey: `credit-tx:${pis.idempotency}` },
    );

    customers.retryBudget = (await newCustomer(ctx, fake)).customerId;
    pis.retryBudget = newPaymentIntent(fake, customers.retryBudget, { amount: 1_600 });
    budgetFault = fake.faults.add({ kind: 'error', status: 500, method: 'POST', path: `/v1/customers/${customers.retryBudget}/balance_transactions`, times: Infinity });

    const euroCustomer = fake.createCustomer({ currency: 'eur' });
    await createAccount(ctx.pool, { stripeCustomerId: euroCustomer.id });
    pis.currencyRefused = newPaymentIntent(fake, euroCustomer.id, { amount: 1_700, currency: 'usd' });

    customers.healthy = (await newCustomer(ctx, fake)).customerId;
    pis.healthy = newPaymentIntent(fake, customers.healthy, { amount: 1_800 });
    pis.processing = newPaymentIntent(fake, linked.customerId, { status: 'processing' });

    await Promise.all(Object.values(pis).map((pi) => startPayment(ctx, pi)));
  });

  const EXPECTED_REASONS: [keyof typeof pis, AttentionReason, string][] = [
    ['noAccountResolve', 'no_account_for_customer', 'loading'],
    ['noAccountRetry', 'no_account_for_customer', 'loading'],
    ['noCustomer', 'no_customer', 'loading'],
    ['zeroAmount', 'amount_anomaly', 'loading'],
    ['badCurrency', 'amount_anomaly', 'loading'],
    ['idempotency', 'stripe_idempotency_error', 'crediting_stripe'],
    ['retryBudget', 'retries_exhausted', 'crediting_stripe'],
    ['currencyRefused', 'stripe_request_rejected', 'crediting_stripe'],
  ];

  it('`payments stuck` (visibility query + state query) lists exactly the stuck payments, each with its reason and detail', async () => {
    for (const [key, reason, failedStage] of EXPECTED_REASONS) {
      const state = await waitForAttention(ctx, pis[key], reason);
      expect(state.attention?.failedStage).toBe(failedStage);
    }
    expect(await outcomeOf(ctx, pis.healthy)).toMatchObject({ status: 'credited' });
    await eventually(() => queryPaymentState(ctx.client, pis.processing), (s) => s.stage === 'awaiting_payment', { description: 'processing payment waits' });

    // Visibility is eventually consistent: wait until the search attribute reached it for all of them.
    const stuck = await eventually(
      () => listStuckPayments(ctx.client, { taskQueue: ctx.taskQueue }),
      (list) => list.length >= EXPECTED_REASONS.length,
      { description: 'visibility lists every stuck payment' },
    );
    expect(Object.fromEntries(stuck.map((s) => [s.paymentIntentId, s.reason]))).toEqual(
      Object.fromEntries(EXPECTED_REASONS.map(([key, reason]) => [pis[key], reason])),
    );
    const byPi = new Map(stuck.map((s) => [s.paymentIntentId, s]));
    expect(byPi.get(pis.noAccountResolve)).toMatchObject({ customerId: customers.noAccountResolve, accountId: null, amountMinor: 1_100, currency: 'usd', stateError: null });
    expect(byPi.get(pis.noAccountResolve)!.detail).toContain(customers.noAccountResolve);
    expect(byPi.get(pis.zeroAmount)!.detail).toBe('amount_received is 0');
    expect(byPi.get(pis.badCurrency)!.detail).toBe('currency "us$" is not an ISO code');
    expect(byPi.get(pis.idempotency)!.detail).toMatch(/idempotency/i);
    expect(byPi.get(pis.retryBudget)!.detail).toMatch(/convergePayment failed on every attempt of its retry budget; last failure: .*Stripe 500/);
    expect(byPi.get(pis.currencyRefused)!.detail).toMatch(/Stripe 400 .*balance in eur/);
    for (const s of stuck) {
      expect(s.since).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(s.hint).toBeTruthy();
    }
    // The retry budget (TEST_TUNING: 4 attempts) was spent, not more.
    expect(fake.requestsTo('POST', `/v1/customers/${customers.retryBudget}/balance_transactions`)).toHaveLength(TEST_TUNING.activityRetry!.maximumAttempts!);
    // Nothing reached the ledger before the credit step.
    for (const key of ['noAccountResolve', 'noAccountRetry', 'noCustomer', 'zeroAmount', 'badCurrency'] as const) expect(await ledgerCreditsOf(pis[key])).toEqual([]);
    // The plain visibility query (the Temporal UI's saved view) finds them too.
    const viaUiQuery = [];
    for await (const w of ctx.client.workflow.list({ query: `${STUCK_PAYMENTS_QUERY} AND TaskQueue="${ctx.taskQueue}"` })) viaUiQuery.push(w.workflowId);
    expect(viaUiQuery.sort()).toEqual(stuck.map((s) => s.paymentIntentId).sort());
  });

  it("shows the reason and only the applicable actions in the workflow's current details (Temporal UI)", async () => {
    const noAccount = await currentDetailsOf(pis.noAccountResolve);
    expect(noAccount).toContain('**Needs attention:** no_account_for_customer');
    expect(noAccount).toContain('payconfirm accounts create');
    expect(noAccount).toMatch(/`retry`[\s\S]*`resolve`[\s\S]*`reject`/);
    const idempotency = await currentDetailsOf(pis.idempotency);
    expect(idempotency).toContain('**Needs attention:** stripe_idempotency_error');
    expect(idempotency).toContain('`retry`');
    expect(idempotency).not.toContain('`reject`'); // the ledger is credited: reject no longer applies
    expect(idempotency).not.toContain('`resolve`');
  });

  it('no_account_for_customer: resolve credits the named account exactly once; a second resolve is refused', async () => {
    const pi = pis.noAccountResolve;
    const after = await sendOperatorUpdate(ctx.client, pi, { kind: 'resolve', input: { accountId: linked.accountId, note: 'customer merged into linked' } });
    expect(after.stage).not.toBe('needs_attention');
    expect(await outcomeOf(ctx, pi)).toMatchObject({ status: 'credited', accountId: linked.accountId, amountMinor: 1_100 });
    expect(await ledgerCreditsOf(pi)).toEqual([{ account_id: linked.accountId, amount_minor: 1_100 }]);
    // The mirror follows the account of record: the resolved account's Stripe customer, not the PaymentIntent's.
    expect((await moneyFor(ctx, fake, pi, linked.customerId)).stripeCredits).toHaveLength(1);
    expect((await moneyFor(ctx, fake, pi, customers.noAccountResolve)).stripeCredits).toHaveLength(0);
    await expect(sendOperatorUpdate(ctx.client, pi, { kind: 'resolve', input: { accountId: linked.accountId } })).rejects.toBeInstanceOf(PaymentNotRunningError);
    expect(await ledgerCreditsOf(pi)).toHaveLength(1);
  });

  it('no_account_for_customer: retry after the account is created credits it exactly once', async () => {
    const pi = pis.noAccountRetry;
    const before = await waitForAttention(ctx, pi, 'no_account_for_customer');
    // Retrying before the cause is fixed waits again, with a new "since".
    await sendOperatorUpdate(ctx.client, pi, { kind: 'retry' });
    await waitForAttention(ctx, pi, 'no_account_for_customer', { notSince: before.attention!.since });
    const { account } = await createAccount(ctx.pool, { stripeCustomerId: customers.noAccountRetry });
    await sendOperatorUpdate(ctx.client, pi, { kind: 'retry' });
    expect(await outcomeOf(ctx, pi)).toMatchObject({ status: 'credited', accountId: account.id });
    expect(await ledgerCreditsOf(pi)).toEqual([{ account_id: account.id, amount_minor: 1_200 }]);
    expect((await moneyFor(ctx, fake, pi, customers.noAccountRetry)).stripeCredits).toHaveLength(1);
  });

  it('no_customer: a resolve naming no existing account waits as unknown_account; the documented `temporal workflow update execute` resolve credits once', async () => {
    const pi = pis.noCustomer;
    await refusalOf(sendOperatorUpdate(ctx.client, pi, { kind: 'resolve', input: { accountId: 'not-a-uuid' } })).then((e) => expect(e.failureType).toBe('InvalidResolve'));
    await sendOperatorUpdate(ctx.client, pi, { kind: 'resolve', input: { accountId: randomUUID() } });
    const waiting = await waitForAttention(ctx, pi, 'unknown_account');
    expect(waiting.attention?.detail).toMatch(/does not exist/);

    const { stdout } = await promisify(execFile)(inject('temporalCliPath'), [
      'workflow', 'update', 'execute',
      '--address', ctx.temporalAddress,
      '--workflow-id', pi,
      '--name', 'resolve',
      '--input', JSON.stringify({ accountId: linked.accountId }),
    ]);
    expect(stdout).toContain('loading'); // the update's result: the state, out of needs_attention
    const outcome = await outcomeOf(ctx, pi);
    expect(outcome).toMatchObject({ status: 'credited', accountId: linked.accountId, amountMinor: 1_300, balanceTransactionId: expect.any(String) });
    expect(await ledgerCreditsOf(pi)).toEqual([{ account_id: linked.accountId, amount_minor: 1_300 }]);
    // The mirror goes to the account of record's Stripe customer (the PaymentIntent has none).
    expect(fake.balanceTransactions().filter((t) => t.metadata.payment_intent === pi).map((t) => [t.customer, t.amount])).toEqual([[linked.customerId, -1_300]]);
  });

  it('amount_anomaly: resolve is refused, retry finds the same anomaly, reject ends it crediting nothing', async () => {
    const refused = await refusalOf(sendOperatorUpdate(ctx.client, pis.zeroAmount, { kind: 'resolve', input: { accountId: linked.accountId } }));
    expect(refused.failureType).toBe('ResolveNotApplicable');
    expect(refused.message).toMatch(/waits for amount_anomaly: fix the cause and retry, or reject/);
    await refusalOf(sendOperatorUpdate(ctx.client, pis.zeroAmount, { kind: 'reject', input: { reason: '  ' } }));

    const before = await waitForAttention(ctx, pis.badCurrency, 'amount_anomaly');
    await sendOperatorUpdate(ctx.client, pis.badCurrency, { kind: 'retry' });
    await waitForAttention(ctx, pis.badCurrency, 'amount_anomaly', { notSince: before.attention!.since });

    for (const pi of [pis.zeroAmount, pis.badCurrency]) {
      const after = await sendOperatorUpdate(ctx.client, pi, { kind: 'reject', input: { reason: 'amount anomaly confirmed with finance' } });
      expect(after.stage).toBe('rejected');
      expect(await outcomeOf(ctx, pi)).toEqual({ status: 'rejected', paymentIntentId: pi, reason: 'amount anomaly confirmed with finance' });
      expect(await ledgerCreditsOf(pi)).toEqual([]);
      expect(fake.balanceTransactions().filter((t) => t.metadata.payment_intent === pi)).toEqual([]);
    }
  });

  it('stripe_idempotency_error: reject is refused after the ledger credit; retry once the key is free credits exactly once', async () => {
    const pi = pis.idempotency;
    expect(await ledgerCreditsOf(pi)).toHaveLength(1);
    const refused = await refusalOf(sendOperatorUpdate(ctx.client, pi, { kind: 'reject', input: { reason: 'no' } }));
    expect(refused.failureType).toBe('AlreadyCredited');
    expect(refused.message).toMatch(/already credited in the ledger/);

    fake.expireIdempotencyKeys(); // the fix: Stripe's 24-hour window has passed (or the key was freed)
    await sendOperatorUpdate(ctx.client, pi, { kind: 'retry' });
    expect(await outcomeOf(ctx, pi)).toMatchObject({ status: 'credited', amountMinor: 1_500, ledgerEntryCreated: true });
    const money = await moneyFor(ctx, fake, pi, customers.idempotency);
    expect(money.ledgerCredits).toHaveLength(1);
    expect(money.stripeCredits).toHaveLength(1);
    expect(money.stripeCredits[0]).toMatchObject({ amount: -1_500 });
    expect(money.paymentIntent?.metadata).toMatchObject({ payconfirm_credited: 'true', payconfirm_balance_transaction_id: money.stripeCredits[0]!.id });
  });

  it('retries_exhausted: retry after the failing endpoint recovers credits exactly once', async () => {
    const pi = pis.retryBudget;
    budgetFault.remove();
    await sendOperatorUpdate(ctx.client, pi, { kind: 'retry' });
    expect(await outcomeOf(ctx, pi)).toMatchObject({ status: 'credited', amountMinor: 1_600 });
    const money = await moneyFor(ctx, fake, pi, customers.retryBudget);
    expect(money.ledgerCredits).toHaveLength(1);
    expect(money.stripeCredits).toHaveLength(1);
  });

  it('stripe_request_rejected: stays visible, reject is refused once the ledger is credited, retry without a fix waits again', async () => {
    const pi = pis.currencyRefused;
    const before = await waitForAttention(ctx, pi, 'stripe_request_rejected');
    expect(before.ledgerEntryId).not.toBeNull();
    await refusalOf(sendOperatorUpdate(ctx.client, pi, { kind: 'reject', input: { reason: 'wrong currency' } }));
    await sendOperatorUpdate(ctx.client, pi, { kind: 'retry' });
    await waitForAttention(ctx, pi, 'stripe_request_rejected', { notSince: before.attention!.since });
    expect(await ledgerCreditsOf(pi)).toHaveLength(1);
    // Visibility is eventually consistent (the stage went crediting_stripe → needs_attention again).
    await eventually(
      () => listStuckPayments(ctx.client, { taskQueue: ctx.taskQueue }),
      (list) => list.some((s) => s.paymentIntentId === pi),
      { description: 'still listed as stuck' },
    );
  });

  it('refuses operator updates for payments that do not wait for one', async () => {
    const refused = await refusalOf(sendOperatorUpdate(ctx.client, pis.processing, { kind: 'retry' }));
    expect(refused.failureType).toBe('NotAwaitingOperator');
    expect(refused.message).toBe(`payment ${pis.processing} is awaiting_payment, not needs_attention: retry applies only to a payment waiting for an operator`);
    const finished = await sendOperatorUpdate(ctx.client, pis.healthy, { kind: 'retry' }).catch((e: unknown) => e);
    expect(finished).toBeInstanceOf(PaymentNotRunningError);
    expect((finished as Error).message).toMatch(/is not running \(its workflow is COMPLETED\)/);
    await expect(sendOperatorUpdate(ctx.client, 'pi_neverstarted123', { kind: 'retry' })).rejects.toThrow(/no payment workflow pi_neverstarted123/);
    expect((await moneyFor(ctx, fake, pis.healthy, customers.healthy)).ledgerCredits).toHaveLength(1);
  });
});

describe('stripe_credentials_rejected: Stripe refuses the worker key', () => {
  let credCtx: TestContext;
  let badWorkers: RunningWorkers | undefined;
  let goodWorkers: RunningWorkers | undefined;
  beforeAll(async () => {
    credCtx = await createTestContext('operator-creds');
    badWorkers = await startTestWorkers(credCtx, { stripe: stripeClientFor(fake.url, 'sk_test_revokedkey123') });
  });
  afterAll(async () => {
    if (credCtx) await terminateRunning(credCtx);
    await badWorkers?.stop();
    await goodWorkers?.stop();
    await credCtx?.close();
  });

  it('waits at loading with the reason (key not echoed); retry after the workers get the right key credits once', async () => {
    const c = await newCustomer(credCtx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { amount: 1_900 });
    await startPayment(credCtx, pi);
    const state = await waitForAttention(credCtx, pi, 'stripe_credentials_rejected');
    expect(state.attention).toMatchObject({ failedStage: 'loading' });
    expect(state.attention!.detail).toMatch(/Stripe 401 StripeAuthenticationError/);
    expect(state.attention!.detail).not.toContain('sk_test_revokedkey123');
    // Typed, non-retryable: one attempt, not a retry budget spent against a refusing Stripe.
    expect(fake.requestsTo('GET', `/v1/payment_intents/${pi}`)).toHaveLength(1);
    const stuck = await eventually(
      () => listStuckPayments(credCtx.client, { taskQueue: credCtx.taskQueue }),
      (list) => list.length > 0,
      { description: 'visibility lists the stuck payment' },
    );
    expect(stuck.map((s) => [s.paymentIntentId, s.reason])).toEqual([[pi, 'stripe_credentials_rejected']]);

    // The fix: the workers restart with the right STRIPE_SECRET_KEY.
    await badWorkers!.stop();
    badWorkers = undefined;
    goodWorkers = await startTestWorkers(credCtx, { stripe: stripeClientFor(fake.url) });
    await sendOperatorUpdate(credCtx.client, pi, { kind: 'retry' });
    expect(await outcomeOf(credCtx, pi)).toMatchObject({ status: 'credited', accountId: c.accountId, amountMinor: 1_900 });
    const money = await moneyFor(credCtx, fake, pi, c.customerId);
    expect(money.ledgerCredits).toHaveLength(1);
    expect(money.stripeCredits).toHaveLength(1);
  });
});
