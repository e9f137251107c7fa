import { WorkflowNotFoundError } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../src/db/accounts.js';
import { listDecisions } from '../src/db/payment-books.js';
import { sendOperatorUpdate, OperatorUpdateRefusedError } from '../src/temporal/payment-operations.js';
import { eventually } from './support/eventually.js';
import type { EventObject, FakeStripe } from './support/fake-stripe/index.js';
import { outcomeOf, waitForAttention } from './support/operator-fixtures.js';
import { expectBooksFollowStripe, ledgerOf, mirrorOf, movementsOf, paymentSettles } from './support/payment-books.js';
import { newCustomer, newPaymentIntent, type Customer } from './support/payment-fixtures.js';
import { chargeRefundedEvent, deliver, inboxRowReaches, paymentIntentEvent, startWebhookStack, type WebhookStack } from './support/stripe-webhooks.js';
import { callApi, type TestApi } from './support/test-api.js';
import { createTestContext, stripeClientFor, type TestContext } from './support/test-context.js';

/**
 * The books follow Stripe (invariant 7): after every movement of a payment's money — refunds pending, succeeded,
 * failed, canceled; disputes withdrawn, won, lost; inquiries — the ledger net equals Stripe's net and the Stripe
 * customer-balance mirror holds exactly one transaction per ledger movement, whatever the order, duplicates and
 * races of the events, and whatever operators decided. Real Temporal, real Postgres, the fake Stripe.
 */
let ctx: TestContext;
let stack: WebhookStack;
let fake: FakeStripe;
let api: TestApi;

beforeAll(async () => {
  ctx = await createTestContext('books');
  stack = await startWebhookStack(ctx);
  ({ fake, api } = stack);
});
afterAll(async () => {
  await stack?.close();
  await ctx?.close();
});

const stripe = () => stripeClientFor(fake.url);
const confirm = (apiKey: string, pi: string) => callApi(api.url, 'POST', '/billing/confirm_payment', { apiKey, body: { payment_intent_id: pi } });
const refundEvent = (type: string, refundId: string) => fake.buildEvent(type, fake.getRefund(refundId)!);
const disputeEvent = (type: string, disputeId: string) => fake.buildEvent(type, fake.getDispute(disputeId)!);

/** Delivers each event (signed, as Stripe does), waits until each was handed on, then until the payment settles. */
async function deliverAll(pi: string, events: EventObject[], opts: { concurrently?: boolean } = {}): Promise<void> {
  const send = async (e: EventObject) => expect((await deliver(api.url, e)).status).toBe(200);
  if (opts.concurrently) await Promise.all(events.map(send));
  else for (const e of events) await send(e);
  for (const id of new Set(events.map((e) => e.id))) await inboxRowReaches(ctx.pool, id, 'processed');
  await paymentSettles(ctx, pi);
}

/** A credited payment of `amount`, by its payment_intent.succeeded webhook. */
async function creditedPayment(amount: number): Promise<{ c: Customer; pi: string }> {
  const c = await newCustomer(ctx, fake);
  const pi = newPaymentIntent(fake, c.customerId, { amount });
  await deliverAll(pi, [paymentIntentEvent(fake, 'payment_intent.succeeded', pi)]);
  expect(movementsOf(await ledgerOf(ctx, pi))).toEqual([['payment_credit', amount]]);
  return { c, pi };
}

describe('refunds', () => {
  it('partial refunds: one debit and one mirror transaction each; a redelivery changes nothing', async () => {
    const { c, pi } = await creditedPayment(10_000);
    const r1 = fake.refundPaymentIntent(pi, 3_000);
    const created = refundEvent('refund.created', r1.id);
    await deliverAll(pi, [created]);
    fake.refundPaymentIntent(pi, 2_000);
    await deliverAll(pi, [await chargeRefundedEvent(fake, stripe(), pi), created]);

    const { ledger, netMinor } = await expectBooksFollowStripe(ctx, fake, pi, { customerId: c.customerId });
    expect(movementsOf(ledger)).toEqual([['payment_credit', 10_000], ['refund_debit', -3_000], ['refund_debit', -2_000]]);
    expect(netMinor).toBe(5_000);
    expect(ledger.every((r) => r.account_id === c.accountId)).toBe(true);
    expect(fake.getCustomer(c.customerId)?.balance).toBe(-5_000);
  });

  it('a full refund before the credit: credit and debit, once each; both books net zero', async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { amount: 8_000 });
    fake.refundPaymentIntent(pi);
    await deliverAll(pi, [await chargeRefundedEvent(fake, stripe(), pi)]);

    const { ledger, netMinor } = await expectBooksFollowStripe(ctx, fake, pi, { customerId: c.customerId });
    expect(movementsOf(ledger)).toEqual([['payment_credit', 8_000], ['refund_debit', -8_000]]);
    expect(netMinor).toBe(0);
    expect(fake.getCustomer(c.customerId)?.balance).toBe(0);
  });

  it('pending → succeeded: debited once while pending, nothing more when it succeeds', async () => {
    const { c, pi } = await creditedPayment(6_000);
    const refund = fake.refundPaymentIntent(pi, 4_000, { status: 'pending' });
    await deliverAll(pi, [refundEvent('refund.created', refund.id)]);
    expect(movementsOf(await ledgerOf(ctx, pi))).toEqual([['payment_credit', 6_000], ['refund_debit', -4_000]]);

    fake.setRefundStatus(refund.id, 'succeeded');
    await deliverAll(pi, [refundEvent('refund.updated', refund.id)]);
    const { ledger } = await expectBooksFollowStripe(ctx, fake, pi, { customerId: c.customerId });
    expect(movementsOf(ledger)).toEqual([['payment_credit', 6_000], ['refund_debit', -4_000]]);
  });

  it('succeeded → failed and requires_action → canceled: each debit is reversed on both books', async () => {
    const { c, pi } = await creditedPayment(5_000);
    const failing = fake.refundPaymentIntent(pi, 2_500);
    await deliverAll(pi, [refundEvent('refund.created', failing.id)]);
    fake.setRefundStatus(failing.id, 'failed');
    const waiting = fake.refundPaymentIntent(pi, 1_000, { status: 'requires_action' });
    await deliverAll(pi, [refundEvent('refund.failed', failing.id), refundEvent('refund.created', waiting.id)]);
    fake.setRefundStatus(waiting.id, 'canceled');
    await deliverAll(pi, [refundEvent('refund.updated', waiting.id)]);

    const { ledger, netMinor } = await expectBooksFollowStripe(ctx, fake, pi, { customerId: c.customerId });
    // The second pass applies one refund's reversal and the other's debit: their order follows the refund ids.
    expect(movementsOf(ledger).map(([kind, amount]) => `${kind} ${amount}`).sort()).toEqual([
      'payment_credit 5000',
      'refund_debit -1000',
      'refund_debit -2500',
      'refund_reversal 1000',
      'refund_reversal 2500',
    ]);
    expect(netMinor).toBe(5_000);
    expect(mirrorOf(fake, c.customerId, pi).map((t) => t.amount).sort((a, b) => a - b)).toEqual([-5_000, -2_500, -1_000, 1_000, 2_500]);
  });

  it('two refunds racing the credit: every event at once, each movement once', async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { amount: 9_000 });
    const r1 = fake.refundPaymentIntent(pi, 1_000);
    const r2 = fake.refundPaymentIntent(pi, 2_000);
    const events = [
      paymentIntentEvent(fake, 'payment_intent.succeeded', pi),
      refundEvent('refund.created', r1.id),
      refundEvent('refund.created', r2.id),
      await chargeRefundedEvent(fake, stripe(), pi),
    ];
    await deliverAll(pi, [...events, ...events], { concurrently: true });

    const { ledger, netMinor } = await expectBooksFollowStripe(ctx, fake, pi, { customerId: c.customerId });
    expect(ledger[0]?.kind).toBe('payment_credit');
    expect(movementsOf(ledger).slice(1).sort()).toEqual([['refund_debit', -1_000], ['refund_debit', -2_000]]);
    expect(netMinor).toBe(6_000);
  });
});

describe('disputes', () => {
  it('funds withdrawn, then won: a debit and its reversal', async () => {
    const { c, pi } = await creditedPayment(7_000);
    const dispute = fake.createDispute(pi);
    await deliverAll(pi, [disputeEvent('charge.dispute.created', dispute.id), disputeEvent('charge.dispute.funds_withdrawn', dispute.id)]);
    expect(movementsOf(await ledgerOf(ctx, pi))).toEqual([['payment_credit', 7_000], ['dispute_debit', -7_000]]);

    fake.setDisputeStatus(dispute.id, 'won');
    await deliverAll(pi, [disputeEvent('charge.dispute.funds_reinstated', dispute.id), disputeEvent('charge.dispute.closed', dispute.id)]);
    const { ledger, netMinor } = await expectBooksFollowStripe(ctx, fake, pi, { customerId: c.customerId });
    expect(movementsOf(ledger)).toEqual([['payment_credit', 7_000], ['dispute_debit', -7_000], ['dispute_reversal', 7_000]]);
    expect(netMinor).toBe(7_000);
  });

  it('funds withdrawn, then lost: the debit stays', async () => {
    const { c, pi } = await creditedPayment(3_000);
    const dispute = fake.createDispute(pi);
    fake.setDisputeStatus(dispute.id, 'under_review');
    fake.setDisputeStatus(dispute.id, 'lost');
    await deliverAll(pi, [disputeEvent('charge.dispute.closed', dispute.id)]);
    const { ledger, netMinor } = await expectBooksFollowStripe(ctx, fake, pi, { customerId: c.customerId });
    expect(movementsOf(ledger)).toEqual([['payment_credit', 3_000], ['dispute_debit', -3_000]]);
    expect(netMinor).toBe(0);
  });

  it('an inquiry that closes moves nothing', async () => {
    const { c, pi } = await creditedPayment(4_000);
    const inquiry = fake.createDispute(pi, { inquiry: true });
    await deliverAll(pi, [disputeEvent('charge.dispute.created', inquiry.id)]);
    fake.setDisputeStatus(inquiry.id, 'warning_closed');
    await deliverAll(pi, [disputeEvent('charge.dispute.closed', inquiry.id)]);
    const { ledger } = await expectBooksFollowStripe(ctx, fake, pi, { customerId: c.customerId });
    expect(movementsOf(ledger)).toEqual([['payment_credit', 4_000]]);
  });
});

describe('account of record and operator decisions that last', () => {
  it('after resolve, the credit and every later refund go to the resolved account and its Stripe customer, with no operator question', async () => {
    const orphan = fake.createCustomer({});
    const resolved = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, orphan.id, { amount: 5_000 });
    expect((await deliver(api.url, paymentIntentEvent(fake, 'payment_intent.succeeded', pi))).status).toBe(200);
    await waitForAttention(ctx, pi, 'no_account_for_customer');
    await sendOperatorUpdate(ctx.client, pi, { kind: 'resolve', input: { accountId: resolved.accountId, note: 'customer merged' } });
    expect(await outcomeOf(ctx, pi)).toMatchObject({ status: 'credited', accountId: resolved.accountId });

    fake.refundPaymentIntent(pi, 1_500);
    await deliverAll(pi, [await chargeRefundedEvent(fake, stripe(), pi)]);
    expect(await outcomeOf(ctx, pi)).toMatchObject({ status: 'credited', accountId: resolved.accountId, netMinor: 3_500 });

    const { ledger } = await expectBooksFollowStripe(ctx, fake, pi, { customerId: resolved.customerId });
    expect(ledger.map((r) => r.account_id)).toEqual([resolved.accountId, resolved.accountId]);
    expect(fake.balanceTransactions(orphan.id)).toEqual([]);
    expect((await listDecisions(ctx.pool, pi)).map((d) => [d.decision, d.accountId])).toEqual([['resolve', resolved.accountId]]);
  });

  it('reject stands for good: a later event credits nothing, nor a confirm after the history is deleted', async () => {
    const customer = fake.createCustomer({});
    const pi = newPaymentIntent(fake, customer.id, { amount: 2_200 });
    expect((await deliver(api.url, paymentIntentEvent(fake, 'payment_intent.succeeded', pi))).status).toBe(200);
    await waitForAttention(ctx, pi, 'no_account_for_customer');
    await sendOperatorUpdate(ctx.client, pi, { kind: 'reject', input: { reason: 'fraud review' } });
    expect(await outcomeOf(ctx, pi)).toEqual({ status: 'rejected', paymentIntentId: pi, reason: 'fraud review' });

    // The customer now maps to an account: without a lasting decision the next wake would credit it.
    const { apiKey } = await createAccount(ctx.pool, { stripeCustomerId: customer.id });
    await deliverAll(pi, [paymentIntentEvent(fake, 'payment_intent.succeeded', pi)]);
    expect(await outcomeOf(ctx, pi)).toMatchObject({ status: 'rejected', reason: 'fraud review' });

    const handle = ctx.client.workflow.getHandle(pi);
    const { runId } = await handle.describe();
    await ctx.connection.workflowService.deleteWorkflowExecution({ namespace: 'default', workflowExecution: { workflowId: pi, runId } });
    await eventually(
      () => handle.describe().then(() => false, (err: unknown) => err instanceof WorkflowNotFoundError),
      Boolean,
      { timeoutMs: 90_000, intervalMs: 500, description: `history of ${pi} deleted` },
    );
    const answer = await confirm(apiKey, pi);
    expect(answer.status).toBe(409);
    expect(answer.body).toMatchObject({ status: 'rejected', error: { code: 'payment_rejected' } });
    expect(await ledgerOf(ctx, pi)).toEqual([]);
    expect(fake.balanceTransactions(customer.id)).toEqual([]);
  });

  it('skip-mirror: when the Stripe customer is gone the ledger goes on, refunds included, and reject is refused', async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { amount: 4_400 });
    fake.deleteCustomer(c.customerId);
    expect((await deliver(api.url, paymentIntentEvent(fake, 'payment_intent.succeeded', pi))).status).toBe(200);
    const stuck = await waitForAttention(ctx, pi, 'stripe_request_rejected');
    expect(stuck).toMatchObject({ attention: { failedStage: 'crediting_stripe' }, ledgerEntryId: expect.any(String) });
    // The owner sees the credit: the ledger holds it, whatever the Stripe mirror waits for.
    expect((await callApi(api.url, 'GET', `/billing/payments/${pi}`, { apiKey: c.apiKey })).body).toMatchObject({ status: 'credited', amount_minor: 4_400 });
    await expect(sendOperatorUpdate(ctx.client, pi, { kind: 'reject', input: { reason: 'too late' } })).rejects.toBeInstanceOf(OperatorUpdateRefusedError);
    await sendOperatorUpdate(ctx.client, pi, { kind: 'skipMirror', input: { reason: 'customer deleted in Stripe' } });
    expect(await outcomeOf(ctx, pi)).toMatchObject({ status: 'credited', mirror: 'skipped', balanceTransactionId: null });

    fake.refundPaymentIntent(pi, 400);
    await deliverAll(pi, [await chargeRefundedEvent(fake, stripe(), pi)]);
    expect(await outcomeOf(ctx, pi)).toMatchObject({ status: 'credited', mirror: 'skipped', netMinor: 4_000 });
    const { ledger } = await expectBooksFollowStripe(ctx, fake, pi, { customerId: c.customerId, mirror: 'none' });
    expect(movementsOf(ledger)).toEqual([['payment_credit', 4_400], ['refund_debit', -400]]);
    expect((await listDecisions(ctx.pool, pi)).map((d) => [d.decision, d.reason])).toEqual([['skip_mirror', 'customer deleted in Stripe']]);
  });
});

describe('who may see a payment', () => {
  it('GET /billing/payments/:id answers a stranger 404, credited or not, exactly as for a PaymentIntent that does not exist', async () => {
    const owner = await newCustomer(ctx, fake);
    const stranger = await newCustomer(ctx, fake);
    const credited = newPaymentIntent(fake, owner.customerId, { amount: 1_200 });
    expect((await confirm(owner.apiKey, credited)).body).toMatchObject({ status: 'credited' });
    const uncredited = newPaymentIntent(fake, owner.customerId, { amount: 1_300, status: 'processing' });
    const get = (apiKey: string, pi: string) => callApi(api.url, 'GET', `/billing/payments/${pi}`, { apiKey });

    const [ownView, onCredited, onUncredited, onUnknown] = await Promise.all([
      get(owner.apiKey, credited),
      get(stranger.apiKey, credited),
      get(stranger.apiKey, uncredited),
      get(stranger.apiKey, 'pi_doesNotExist1234'),
    ]);
    expect(ownView.body).toMatchObject({ status: 'credited', account_id: owner.accountId });
    for (const answer of [onCredited, onUncredited, onUnknown]) {
      expect(answer.status).toBe(404);
      expect(answer.body.error).toMatchObject({ code: 'payment_intent_not_found' });
      expect(JSON.stringify(answer.body)).not.toContain(owner.accountId);
    }
  });

  it('a payment waiting for an operator is pending to its owner, with a reason code only', async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { amount: 0 }); // succeeded with amount_received 0: an anomaly
    expect((await deliver(api.url, paymentIntentEvent(fake, 'payment_intent.succeeded', pi))).status).toBe(200);
    const waiting = await waitForAttention(ctx, pi, 'amount_anomaly');
    const answer = await callApi(api.url, 'GET', `/billing/payments/${pi}`, { apiKey: c.apiKey });
    expect(answer.status).toBe(202);
    expect(answer.body).toEqual({ status: 'pending', payment_intent_id: pi, stage: 'needs_attention', reason: 'amount_anomaly', poll_url: `/billing/payments/${pi}` });
    expect(JSON.stringify(answer.body)).not.toContain(waiting.attention!.detail);
    await sendOperatorUpdate(ctx.client, pi, { kind: 'reject', input: { reason: 'test: zero amount' } });
  });
});

describe('which payments are credit purchases', () => {
  it('an untagged PaymentIntent moves no money: its webhook is ignored with the reason, confirm answers 409 not_eligible', async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { amount: 1_900, metadata: { order: 'subscription-invoice' } });
    const event = paymentIntentEvent(fake, 'payment_intent.succeeded', pi);
    expect((await deliver(api.url, event)).status).toBe(200);
    const row = await inboxRowReaches(ctx.pool, event.id, 'ignored');
    expect(row?.outcome).toMatch(/^not_eligible: .*payconfirm=credit/);
    await paymentSettles(ctx, pi);
    expect(await inboxRowReaches(ctx.pool, event.id, 'ignored')).toMatchObject({ status: 'ignored' });

    const answer = await confirm(c.apiKey, pi);
    expect(answer.status).toBe(409);
    expect(answer.body).toMatchObject({ status: 'not_eligible', error: { code: 'not_eligible' } });
    expect(await ledgerOf(ctx, pi)).toEqual([]);
    expect(fake.balanceTransactions(c.customerId)).toEqual([]);
  });

  it('metadata anything else wrote is not taken for payconfirm\'s mark: the payment is credited and mirrored', async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, {
      amount: 2_100,
      metadata: { payconfirm: 'credit', credited: 'true', balance_transaction_id: 'cbtxn_foreign', ledger_entry_id: 'le_foreign' },
    });
    const answer = await confirm(c.apiKey, pi);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'credited', amount_minor: 2_100 });
    await paymentSettles(ctx, pi);
    const { ledger } = await expectBooksFollowStripe(ctx, fake, pi, { customerId: c.customerId });
    expect(movementsOf(ledger)).toEqual([['payment_credit', 2_100]]);
    expect(fake.getPaymentIntent(pi)?.metadata).toMatchObject({ payconfirm_credited: 'true', credited: 'true', balance_transaction_id: 'cbtxn_foreign' });
  });
});

describe('every event twice, shuffled', () => {
  it('credit, a partial refund, a failed refund and a won dispute: any order, any duplicates, the same books', async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { amount: 12_000 });
    const kept = fake.refundPaymentIntent(pi, 2_000);
    const failed = fake.refundPaymentIntent(pi, 3_000);
    fake.setRefundStatus(failed.id, 'failed');
    const dispute = fake.createDispute(pi, { amount: 4_000 });
    fake.setDisputeStatus(dispute.id, 'won');
    const events = [
      paymentIntentEvent(fake, 'payment_intent.succeeded', pi),
      refundEvent('refund.created', kept.id),
      refundEvent('refund.created', failed.id),
      refundEvent('refund.failed', failed.id),
      await chargeRefundedEvent(fake, stripe(), pi),
      disputeEvent('charge.dispute.created', dispute.id),
      disputeEvent('charge.dispute.funds_reinstated', dispute.id),
      disputeEvent('charge.dispute.closed', dispute.id),
    ];
    const seed = Date.now() % 100_000;
    const shuffled = shuffle([...events, ...events], seed);
    for (let i = 0; i < shuffled.length; i += 4) await deliverAll(pi, shuffled.slice(i, i + 4), { concurrently: true });

    const { ledger, netMinor } = await expectBooksFollowStripe(ctx, fake, pi, { customerId: c.customerId });
    expect(netMinor, `seed ${seed}`).toBe(10_000);
    // A refund that had failed before payconfirm ever saw it in flight is never debited: no movement at all.
    expect(movementsOf(ledger).map(([kind, amount]) => `${kind} ${amount}`).sort(), `seed ${seed}`).toEqual(
      ['dispute_debit -4000', 'dispute_reversal 4000', 'payment_credit 12000', 'refund_debit -2000'],
    );
  });
});

/** A deterministic Fisher–Yates shuffle (the seed is printed with a failure). */
function shuffle<T>(items: T[], seed: number): T[] {
  let state = seed || 1;
  const random = () => ((state = (state * 48_271) % 2_147_483_647) / 2_147_483_647);
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
