import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerKeyForPaymentCredit } from '../src/domain/idempotency-keys.js';
import { startOrAttachPayment } from '../src/temporal/payment-workflow-client.js';
import { boundedCarryOver, CARRIED_EVENT_IDS_MAX } from '../workflows/payment-carry-over.js';
import { paymentEventSignal } from '../workflows/payment-messages.js';
import type { PaymentWorkflowInput, PaymentWorkflowTuning } from '../workflows/payment-workflow-input.js';
import { eventually } from './support/eventually.js';
import { startFakeStripe, type FakeStripe } from './support/fake-stripe/index.js';
import { workflowInputOf } from './support/history-events.js';
import { terminateRunning } from './support/operator-fixtures.js';
import { ledgerOf, movementsOf } from './support/payment-books.js';
import { newCustomer, newPaymentIntent } from './support/payment-fixtures.js';
import { runChainOf } from './support/run-chain.js';
import { createTestContext, startTestWorkers, stripeClientFor, TEST_TUNING, type RunningWorkers, type TestContext } from './support/test-context.js';

/**
 * What a waiting payment run hands the next one across continue-as-new is bounded (issue 19): the newest
 * CARRIED_EVENT_IDS_MAX event ids, and of the ledger keys only the credit's. The pure rule first, then a real wait
 * (Temporal dev server, Postgres, the fake Stripe) woken by more events than the bound.
 */
describe('boundedCarryOver (workflows/payment-carry-over.ts)', () => {
  const pi = 'pi_carry';
  const ids = (n: number) => Array.from({ length: n }, (_, i) => `evt_${i}`);

  it('keeps every event id up to the bound, in order', () => {
    expect(boundedCarryOver(pi, { eventIds: [], ledgerKeysWritten: [] })).toEqual({ eventIds: [], ledgerKeysWritten: [] });
    expect(boundedCarryOver(pi, { eventIds: ids(CARRIED_EVENT_IDS_MAX), ledgerKeysWritten: [] }).eventIds).toEqual(ids(CARRIED_EVENT_IDS_MAX));
  });

  it('past the bound, keeps the newest (the last arrived)', () => {
    const all = ids(CARRIED_EVENT_IDS_MAX * 3 + 7);
    const kept = boundedCarryOver(pi, { eventIds: all, ledgerKeysWritten: [] }).eventIds;
    expect(kept).toHaveLength(CARRIED_EVENT_IDS_MAX);
    expect(kept).toEqual(all.slice(-CARRIED_EVENT_IDS_MAX));
    expect(kept.at(-1)).toBe(all.at(-1));
  });

  it("keeps of the ledger keys only the credit's (what ledgerEntryCreated asks), and nothing when it was not written", () => {
    const credit = ledgerKeyForPaymentCredit(pi);
    const others = ['stripe:refund:re_1', 'stripe:dispute:dp_1', 'stripe:refund:re_1:reversal'];
    expect(boundedCarryOver(pi, { eventIds: [], ledgerKeysWritten: [...others, credit] }).ledgerKeysWritten).toEqual([credit]);
    expect(boundedCarryOver(pi, { eventIds: [], ledgerKeysWritten: others }).ledgerKeysWritten).toEqual([]);
    expect(boundedCarryOver(pi, { eventIds: [], ledgerKeysWritten: [ledgerKeyForPaymentCredit('pi_other')] }).ledgerKeysWritten).toEqual([]);
  });

  it('does not change what it is given', () => {
    const lists = { eventIds: ids(150), ledgerKeysWritten: ['stripe:refund:re_1'] };
    boundedCarryOver(pi, lists);
    expect(lists.eventIds).toHaveLength(150);
    expect(lists.ledgerKeysWritten).toEqual(['stripe:refund:re_1']);
  });
});

describe('a long wait woken by more events than the bound (real stack)', () => {
  const TUNING: PaymentWorkflowTuning = { ...TEST_TUNING, processingRecheck: '20 milliseconds', processingRecheckMax: '100 milliseconds', historyBudget: 80 };
  let ctx: TestContext;
  let fake: FakeStripe;
  let workers: RunningWorkers;
  beforeAll(async () => {
    ctx = await createTestContext('carry_over');
    fake = await startFakeStripe();
    workers = await startTestWorkers(ctx, { stripe: stripeClientFor(fake.url), tuning: TUNING });
  });
  afterAll(async () => {
    if (ctx) await terminateRunning(ctx);
    await workers?.stop();
    await fake?.close();
    await ctx?.close();
  });

  it('the runs after carry the newest 100 event ids, never more; the payment still credits once', { timeout: 120_000 }, async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { status: 'processing', amount: 3_300 });
    await startOrAttachPayment({ client: ctx.client, taskQueue: ctx.taskQueue, tuning: TUNING }, pi, `carry ${pi}`);
    const sent = Array.from({ length: 150 }, (_, i) => `evt_carry${String(i).padStart(3, '0')}`);
    const handle = ctx.client.workflow.getHandle(pi);
    // One at a time: they arrive in this order.
    for (const eventId of sent) await handle.signal(paymentEventSignal, { eventId, eventType: 'payment_intent.processing' });
    const carriedOf = (history: Parameters<typeof workflowInputOf>[0]) => workflowInputOf<PaymentWorkflowInput>(history).carriedOver;
    // A run that started after every event had arrived carries the newest 100.
    const chain = await eventually(
      () => runChainOf(ctx.client, pi),
      (runs) => runs.some((run) => carriedOf(run.history)?.eventIds.includes(sent.at(-1)!)),
      { description: 'a run carrying the last event', timeoutMs: 90_000, intervalMs: 500 },
    );
    for (const run of chain.slice(1)) expect(carriedOf(run.history)!.eventIds.length).toBeLessThanOrEqual(CARRIED_EVENT_IDS_MAX);
    const last = chain.find((run) => carriedOf(run.history)?.eventIds.includes(sent.at(-1)!))!;
    expect(carriedOf(last.history)).toMatchObject({ eventIds: sent.slice(-CARRIED_EVENT_IDS_MAX), ledgerKeysWritten: [] });

    fake.setPaymentIntentStatus(pi, 'succeeded');
    await handle.signal(paymentEventSignal, { eventId: 'evt_carrysucceeded', eventType: 'payment_intent.succeeded' });
    expect(await handle.result()).toMatchObject({ status: 'credited', ledgerEntryCreated: true });
    expect(movementsOf(await ledgerOf(ctx, pi))).toEqual([['payment_credit', 3_300]]);
  });
});
