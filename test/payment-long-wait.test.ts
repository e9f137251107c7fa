import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PaymentIntentIdKey, PaymentStageKey } from '../src/temporal/search-attributes.js';
import { startOrAttachPayment } from '../src/temporal/payment-workflow-client.js';
import { PRIORITY } from '../src/temporal/priorities.js';
import type { PaymentCarryOver, PaymentWorkflowInput, PaymentWorkflowTuning } from '../workflows/payment-workflow-input.js';
import { eventually } from './support/eventually.js';
import type { FakeStripe, FaultHandle } from './support/fake-stripe/index.js';
import { completedPassesOf, firedTimerDurationsMs, patchIdsOf, timerDurationsMs, workflowInputOf } from './support/history-events.js';
import { terminateRunning } from './support/operator-fixtures.js';
import { ledgerOf, mirrorOf, movementsOf } from './support/payment-books.js';
import { newCustomer, newPaymentIntent } from './support/payment-fixtures.js';
import { runChainOf, type ChainRun } from './support/run-chain.js';
import { deliver, inboxRowReaches, paymentIntentEvent, startWebhookStack, type WebhookStack } from './support/stripe-webhooks.js';
import { callApi, startTestApi, type TestApi } from './support/test-api.js';
import { createTestContext, stripeClientFor, TEST_TUNING, type TestContext } from './support/test-context.js';

/**
 * A long wait for payment (a `processing` PaymentIntent: SEPA Direct Debit takes up to 14 business days) costs a
 * bounded history: re-reads of Stripe back off (5 min ×2 up to 4 h, from the start again after an event) and a run
 * continues as new past its history budget, carrying what the wait still needs, while a confirm caller keeps
 * waiting on the result. Real Temporal dev server, real Postgres, the fake Stripe, on a compressed clock: the
 * tuning is scaled 1 : 60,000 (5 min → 5 ms, 4 h → 240 ms), so the workflow makes the re-reads a real 14-day wait
 * makes — its own timers say how long it waited, whatever the machine's speed.
 */
const SCALE = 60_000;
const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;
const scaled = (ms: number) => ms / SCALE;

/** A small budget, so that a 14-day wait (about 1,000 history events) continues as new a few times. */
const HISTORY_BUDGET = 300;
const COMPRESSED: PaymentWorkflowTuning = {
  ...TEST_TUNING,
  processingRecheck: scaled(5 * MINUTE_MS),
  processingRecheckMax: scaled(4 * 60 * MINUTE_MS),
  historyBudget: HISTORY_BUDGET,
};

/**
 * The waits between re-reads in a 14-day wait, in minutes: 5, 10, 20, 40, 80, 160 (315 min), then 4 h each; the
 * 89th re-read, at 315 + 83 × 240 = 20,235 min, is the first past 14 days (20,160 min).
 */
const WAITS_IN_14_DAYS_MIN = [5, 10, 20, 40, 80, 160, ...Array<number>(83).fill(240)];
/** Reads of Stripe by the workflow in 14 days: its first pass and the 89 re-reads. */
const WORKFLOW_READS_IN_14_DAYS = 1 + WAITS_IN_14_DAYS_MIN.length;
/** A run's history: its budget, plus at most one re-read cycle (6 events; 11 before the local activity) and the hand-over past it. */
const MAX_EVENTS_PER_RUN = HISTORY_BUDGET + 15;
/** The history of a whole 14-day wait, every run together: about 90 re-read cycles of 6 events (562 measured; 1,050 was the bound with the pass as an activity, 11 events a cycle). */
const MAX_EVENTS_IN_14_DAYS = 650;

let ctx: TestContext;
let stack: WebhookStack;
let fake: FakeStripe;
/** An API whose confirm waits as long as the whole compressed wait, so one caller waits across every run. */
let patientApi: TestApi;

beforeAll(async () => {
  ctx = await createTestContext('long_wait');
  stack = await startWebhookStack(ctx, { tuning: COMPRESSED });
  fake = stack.fake;
  patientApi = await startTestApi(ctx, { stripe: stripeClientFor(fake.url), confirmWaitMs: 280_000 });
});
afterAll(async () => {
  if (ctx) await terminateRunning(ctx);
  await patientApi?.close();
  await stack?.close();
  await ctx?.close();
});

const readsOf = (pi: string) => fake.requestsTo('GET', `/v1/payment_intents/${pi}`).length;
const inputOf = (run: ChainRun) => workflowInputOf<PaymentWorkflowInput>(run.history);
const carriedOverOf = (run: ChainRun): PaymentCarryOver | undefined => inputOf(run).carriedOver;

/**
 * Lets the held reads of `rule` go one at a time until `reads` have been made, then runs `before` and lets the last
 * one go: `before` happens exactly between that read's arrival and its answer, however fast the machine runs.
 */
async function holdReadsUntil(rule: FaultHandle, reads: number, before: () => void): Promise<void> {
  let released = 0;
  for (;;) {
    const hits = (
      await eventually(
        async () => ({ hits: rule.hits, held: rule.held }),
        (s) => s.held > 0 && s.hits > released,
        { description: `read ${released + 1} of ${reads}`, timeoutMs: 30_000 },
      )
    ).hits;
    if (hits >= reads) {
      before();
      rule.remove();
      return;
    }
    released = hits;
    rule.release();
  }
}

describe('a 14-day processing wait', () => {
  it(`then succeeded: credited once at the first re-read past 14 days; ${WORKFLOW_READS_IN_14_DAYS} reads; each run ≤ ${MAX_EVENTS_PER_RUN} events; the confirm caller gets the credit`, { timeout: 300_000 }, async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { status: 'processing', amount: 4_200 });
    const reads = fake.faults.add({ kind: 'timeout', method: 'GET', path: `/v1/payment_intents/${pi}`, times: Infinity });

    // The workflow's first pass, then a confirm (its own read of Stripe): the caller attaches to the first run.
    await startOrAttachPayment({ client: ctx.client, taskQueue: ctx.taskQueue, tuning: COMPRESSED }, pi, `long wait ${pi}`);
    await eventually(async () => reads.held, (held) => held === 1, { description: 'the first pass reads' });
    const confirming = callApi(patientApi.url, 'POST', '/billing/confirm_payment', { apiKey: c.apiKey, body: { payment_intent_id: pi } });
    await eventually(async () => reads.held, (held) => held === 2, { description: "confirm's read" });
    // Stripe says succeeded just before the workflow's 90th read (its 89th re-read).
    await holdReadsUntil(reads, 1 + WORKFLOW_READS_IN_14_DAYS, () => fake.setPaymentIntentStatus(pi, 'succeeded'));

    const answer = await confirming;
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'credited', payment_intent_id: pi, amount_minor: 4_200 });

    const runs = await runChainOf(ctx.client, pi);
    const events = runs.map((r) => r.history.events?.length ?? 0);
    const waits = runs.flatMap((r) => firedTimerDurationsMs(r.history));
    const passes = runs.reduce((sum, r) => sum + completedPassesOf(r.history), 0);
    console.info(
      `[long-wait] 14 days: ${passes} passes (Stripe reads by the workflow), ${runs.length} runs of ${events.join(', ')} history events ` +
        `(${events.reduce((a, b) => a + b, 0)} in all, budget ${HISTORY_BUDGET}), waited ${(waits.reduce((a, b) => a + b, 0) * SCALE) / DAY_MS} days`,
    );

    // The workflow's own clock: the scheduled waits, carried across runs, and 14 days in all.
    expect(waits).toEqual(WAITS_IN_14_DAYS_MIN.map((m) => scaled(m * MINUTE_MS)));
    expect(waits.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(scaled(14 * DAY_MS));
    // Stripe: one read a pass, the confirm's read, then the credit's mirror and mark; nothing twice.
    expect(passes).toBe(WORKFLOW_READS_IN_14_DAYS);
    expect(readsOf(pi)).toBe(WORKFLOW_READS_IN_14_DAYS + 1);
    expect(fake.requestsTo('POST', `/v1/customers/${c.customerId}/balance_transactions`)).toHaveLength(1);
    expect(fake.requestsTo('POST', `/v1/payment_intents/${pi}`)).toHaveLength(1);
    // Bounded history: it continued as new, each run within its budget, the whole wait within its stated size.
    // (Two runs since a pass is a local activity — one marker, not three events — where it took three before.)
    expect(runs.length).toBeGreaterThanOrEqual(2);
    for (const n of events) expect(n).toBeLessThanOrEqual(MAX_EVENTS_PER_RUN);
    expect(events.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(MAX_EVENTS_IN_14_DAYS);
    // Each run carried the wait on: its place in the chain, the backoff's step, nothing written yet.
    runs.slice(1).forEach((run, i) => {
      expect(carriedOverOf(run)).toMatchObject({ runsBefore: i + 1, ledgerKeysWritten: [], eventIds: [], resolve: null, verifyMirror: false });
      expect(carriedOverOf(run)!.rechecksSinceWake).toBeGreaterThan(0);
    });
    expect(patchIdsOf(runs[0]!.history)).toEqual(['converge-in-local-activity', 'processing-recheck-backoff', 'continue-as-new-past-history-budget', 'bounded-carry-over']);
    // The last run kept the search attributes operators find payments by.
    const last = await ctx.client.workflow.getHandle(pi).describe();
    expect(last.typedSearchAttributes.get(PaymentIntentIdKey)).toBe(pi);
    expect(last.typedSearchAttributes.get(PaymentStageKey)).toBe('credited');
    // … and the task-queue priority of its start (startOrAttachPayment: a caller waits).
    expect(last.priority?.priorityKey).toBe(PRIORITY.interactive);

    // Exactly once on both books, and the outcome says this chain of runs wrote the credit.
    expect(movementsOf(await ledgerOf(ctx, pi))).toEqual([['payment_credit', 4_200]]);
    expect(mirrorOf(fake, c.customerId, pi)).toHaveLength(1);
    expect(await ctx.client.workflow.getHandle(pi).result()).toMatchObject({ status: 'credited', ledgerEntryCreated: true });
  });
});

describe('an event during a long wait', () => {
  it('wakes the run and starts the backoff over; its id is carried into the next run; the payment credits once', { timeout: 120_000 }, async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { status: 'processing', amount: 1_900 });
    await startOrAttachPayment({ client: ctx.client, taskQueue: ctx.taskQueue, tuning: { ...COMPRESSED, historyBudget: 60 } }, pi, `event wait ${pi}`);
    // Three re-reads: the waits grew to 5, 10, 20 ms and the fourth (40 ms) is under way.
    await eventually(async () => readsOf(pi), (n) => n >= 4, { description: 'the first pass and three re-reads' });
    const processing = paymentIntentEvent(fake, 'payment_intent.processing', pi);
    expect((await deliver(stack.api.url, processing)).status).toBe(200);
    await inboxRowReaches(ctx.pool, processing.id, 'processed');

    const carried = await eventually(
      () => runChainOf(ctx.client, pi),
      (runs) => runs.some((run) => carriedOverOf(run)?.eventIds.includes(processing.id)),
      { description: 'a run that carries the event', timeoutMs: 60_000, intervalMs: 500 },
    );
    fake.setPaymentIntentStatus(pi, 'succeeded');
    const succeeded = paymentIntentEvent(fake, 'payment_intent.succeeded', pi);
    expect((await deliver(stack.api.url, succeeded)).status).toBe(200);
    expect(await ctx.client.workflow.getHandle(pi).result()).toMatchObject({ status: 'credited', ledgerEntryCreated: true });

    const runs = await runChainOf(ctx.client, pi);
    expect(runs.length).toBeGreaterThanOrEqual(carried.length);
    // Every wait the chain started, in order: the ramp, until the event starts it over at 5 min.
    const waits = runs.flatMap((run) => timerDurationsMs(run.history));
    const restart = waits.findIndex((ms, i) => i > 0 && ms === scaled(5 * MINUTE_MS));
    expect(restart).toBeGreaterThanOrEqual(3);
    expect(waits.slice(0, restart)).toEqual(WAITS_IN_14_DAYS_MIN.slice(0, restart).map((m) => scaled(m * MINUTE_MS)));
    expect(movementsOf(await ledgerOf(ctx, pi))).toEqual([['payment_credit', 1_900]]);
    expect(mirrorOf(fake, c.customerId, pi)).toHaveLength(1);
  });
});
