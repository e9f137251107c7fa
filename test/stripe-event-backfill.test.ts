import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBackfillCursor } from '../src/db/stripe-event-backfill-cursor.js';
import { BACKFILL_OVERLAP_SECONDS, BACKFILL_SETTLE_SECONDS } from '../src/domain/stripe-event-backfill.js';
import { eventTypeGroups, HANDLED_EVENT_TYPES } from '../src/domain/stripe-events.js';
import { createMetrics } from '../src/metrics.js';
import { ensureStripeEventBackfillSchedule, STRIPE_EVENT_BACKFILL_WORKFLOW_TYPE } from '../src/webhooks/stripe-event-backfill-schedule.js';
import type { StripeEventBackfillInput, StripeEventBackfillResult } from '../workflows/stripe-event-backfill-workflow.js';
import { parseBackfillSince } from '../src/cli/commands/events-backfill.js';
import { runPayconfirm, type CliRun } from './support/cli-process.js';
import { eventually } from './support/eventually.js';
import { startFakeStripe, type EventObject, type FakeStripe } from './support/fake-stripe/index.js';
import { formList } from './support/fake-stripe/form-body.js';
import { moneyFor, newCustomer, newPaymentIntent } from './support/payment-fixtures.js';
import { chargeRefundedEvent, checkoutSessionEvent, deliver, inboxCount, inboxRowReaches, paymentIntentEvent, startWebhookStack, type WebhookStack } from './support/stripe-webhooks.js';
import { createTestContext, startTestWorkers, stripeClientFor, uniqueSuffix, type RunningWorkers, type TestContext } from './support/test-context.js';

/**
 * Backfill from Stripe (issue 11, "never lose an event"): events created while the webhook endpoint was down —
 * recorded in the fake Stripe, never delivered — are listed from GET /v1/events by the backfill, inserted into the
 * inbox through the webhook's own dedup, dispatched by the relay and credited exactly once; a later redelivery is a
 * duplicate. Real Temporal, real Postgres, payconfirm's real workers, API and relay; the fake Stripe.
 */

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Runs the backfill workflow as the schedule does (no --since), or a manual one, and returns its result. */
function runBackfill(ctx: TestContext, input: Partial<StripeEventBackfillInput> = {}, workflowId = `stripe-event-backfill-test-${uniqueSuffix()}`): Promise<StripeEventBackfillResult> {
  return ctx.client.workflow.execute(STRIPE_EVENT_BACKFILL_WORKFLOW_TYPE, {
    taskQueue: ctx.taskQueue,
    workflowId,
    args: [{ lookbackDays: 3, ...input }],
  });
}

const eventRequests = (fake: FakeStripe) => fake.requestsTo('GET', '/v1/events');
/** Stripe's types[] takes 20 types: the handled ones are listed in this many groups, one listing (≥ 1 page) each. */
const TYPE_GROUPS = eventTypeGroups(HANDLED_EVENT_TYPES).length;

describe('the fake Stripe lists events as Stripe does (GET /v1/events)', () => {
  let fake: FakeStripe;
  let stripe: Stripe;
  beforeAll(async () => {
    fake = await startFakeStripe();
    stripe = new Stripe(fake.apiKey, { host: fake.host, port: fake.port, protocol: 'http', maxNetworkRetries: 0 });
  });
  afterAll(() => fake?.close());

  it('newest first, created ranges, types[] / type wildcards, cursors both ways, has_more, the 30-day window; retrieve by id', async () => {
    const now = nowSeconds();
    const pi = fake.createPaymentIntent({ amount: 100, currency: 'usd' });
    const at = (created: number, type: string) => fake.recordEvent(type, pi, { created });
    const old = at(now - 31 * 86_400, 'payment_intent.succeeded'); // past Stripe's 30 days
    const a = at(now - 300, 'payment_intent.created');
    const b = at(now - 200, 'payment_intent.succeeded');
    const c = at(now - 200, 'charge.dispute.created'); // same second as b, recorded later: listed before it
    const d = at(now - 100, 'charge.refunded');
    const ids = (list: Stripe.ApiList<Stripe.Event>) => list.data.map((e) => e.id);

    expect(ids(await stripe.events.list({ limit: 100 }))).toEqual([d.id, c.id, b.id, a.id]);
    expect(ids(await stripe.events.list({ created: { gte: now - 200 } }))).toEqual([d.id, c.id, b.id]);
    expect(ids(await stripe.events.list({ created: { gt: now - 300, lt: now - 100 } }))).toEqual([c.id, b.id]);
    expect(ids(await stripe.events.list({ created: { lte: now - 200 } }))).toEqual([c.id, b.id, a.id]);
    expect(ids(await stripe.events.list({ created: now - 300 }))).toEqual([a.id]);
    expect(ids(await stripe.events.list({ types: ['payment_intent.succeeded', 'charge.refunded'] }))).toEqual([d.id, b.id]);
    expect(ids(await stripe.events.list({ type: 'charge.*' }))).toEqual([d.id, c.id]);
    expect(ids(await stripe.events.list({ type: 'payment_intent.created' }))).toEqual([a.id]);

    const first = await stripe.events.list({ limit: 2 });
    expect([ids(first), first.has_more]).toEqual([[d.id, c.id], true]);
    const second = await stripe.events.list({ limit: 2, starting_after: c.id });
    expect([ids(second), second.has_more]).toEqual([[b.id, a.id], false]);
    const back = await stripe.events.list({ limit: 1, ending_before: b.id });
    expect([ids(back), back.has_more]).toEqual([[c.id], true]);

    // What is listed and retrieved is the event recorded: the object a test delivers to the webhook.
    const { lastResponse: _r, ...retrieved } = await stripe.events.retrieve(b.id);
    expect(retrieved).toEqual(b);
    expect((await stripe.events.list({ types: ['payment_intent.succeeded'] })).data).toEqual([b]);
    expect(fake.events().map((e) => e.id)).toEqual([d.id, c.id, b.id, a.id, old.id]);

    await expect(stripe.events.list({ type: 'charge.*', types: ['charge.refunded'] })).rejects.toMatchObject({ statusCode: 400, param: 'types' });
    await expect(stripe.events.list({ types: Array.from({ length: 21 }, (_, i) => `a.b${i}`) })).rejects.toMatchObject({ statusCode: 400, param: 'types' });
    await expect(stripe.events.list({ delivery_success: false })).rejects.toMatchObject({ statusCode: 400 }); // not modelled: refused, never ignored
    await expect(stripe.events.retrieve('evt_unknown')).rejects.toMatchObject({ statusCode: 404, code: 'resource_missing' });
  });
});

describe('backfill from Stripe (real stack: Temporal Schedule, workers on the Stripe queue, inbox, relay, ledger)', () => {
  let ctx: TestContext;
  let stack: WebhookStack;
  let fake: FakeStripe;
  beforeAll(async () => {
    ctx = await createTestContext('stripe-event-backfill');
    stack = await startWebhookStack(ctx);
    ({ fake } = stack);
  });
  afterAll(async () => {
    await stack?.close();
    await ctx?.close();
  });

  const ledgerOf = async (pi: string) =>
    (await ctx.pool.query<{ kind: string; amount_minor: number }>('SELECT kind, amount_minor FROM ledger_entries WHERE payment_intent_id = $1 ORDER BY seq', [pi])).rows;
  const sourceOf = async (eventId: string) =>
    (await ctx.pool.query<{ source: string }>('SELECT source FROM stripe_webhook_events WHERE event_id = $1', [eventId])).rows[0]?.source ?? null;
  const workflowsWithId = async (id: string) => (await ctx.client.workflow.count(`WorkflowId = '${id}'`)).count;
  const paymentCredited = (pi: string, customerId: string) =>
    eventually(() => moneyFor(ctx, fake, pi, customerId), (m) => m.ledgerCredits.length === 1 && m.stripeCredits.length === 1 && m.paymentIntent?.metadata.payconfirm_credited === 'true', {
      description: `${pi} credited and mirrored`,
    });

  let cursorAfterFirstRun: number;

  it('events of an endpoint outage (never delivered) are credited by the scheduled backfill exactly once; a later redelivery is a duplicate', async () => {
    // While the endpoint was up: a payment delivered and credited.
    const c0 = await newCustomer(ctx, fake);
    const pi0 = newPaymentIntent(fake, c0.customerId, { amount: 3_000 });
    const delivered = paymentIntentEvent(fake, 'payment_intent.succeeded', pi0);
    expect((await deliver(stack.api.url, delivered)).body).toEqual({ received: true });
    await paymentCredited(pi0, c0.customerId);

    // The endpoint goes down. Stripe goes on making events; none is delivered.
    const [c1, c2, c3] = [await newCustomer(ctx, fake), await newCustomer(ctx, fake), await newCustomer(ctx, fake)];
    const pi1 = newPaymentIntent(fake, c1.customerId, { amount: 1_100 });
    const pi2 = newPaymentIntent(fake, c2.customerId, { amount: 2_200 });
    const pi3 = newPaymentIntent(fake, c3.customerId, { amount: 3_300 });
    fake.refundPaymentIntent(pi0, 500);
    const missed: EventObject[] = [
      paymentIntentEvent(fake, 'payment_intent.succeeded', pi1),
      paymentIntentEvent(fake, 'payment_intent.succeeded', pi2),
      checkoutSessionEvent(fake, 'checkout.session.completed', pi3, 'paid'),
      await chargeRefundedEvent(fake, stripeClientFor(fake.url), pi0),
    ];
    const untreated = [
      fake.recordEvent('payment_intent.created', fake.getPaymentIntent(pi1)!),
      fake.recordEvent('customer.created', fake.getCustomer(c1.customerId)!),
      fake.recordEvent('charge.succeeded', { id: fake.getPaymentIntent(pi2)!.latest_charge!, object: 'charge', payment_intent: pi2 }),
    ];
    expect(await readBackfillCursor(ctx.pool)).toBeNull();

    // The Temporal Schedule, as every worker ensures it; triggered now instead of waiting 10 minutes.
    const scheduleId = (await ensureStripeEventBackfillSchedule(ctx.client, ctx.taskQueue, { intervalMinutes: 10, lookbackDays: 3 }))!;
    const schedule = ctx.client.schedule.getHandle(scheduleId);
    try {
      expect(await ensureStripeEventBackfillSchedule(ctx.client, ctx.taskQueue, { intervalMinutes: 10, lookbackDays: 3 })).toBe(scheduleId);
      const described = await schedule.describe();
      expect(described.spec.intervals).toMatchObject([{ every: 600_000 }]);
      expect(described.spec.startAt!.getTime()).toBeGreaterThan(Date.now() + 9 * 60_000); // no run right after a worker start
      expect(described.policies.overlap).toBe('SKIP');
      expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: STRIPE_EVENT_BACKFILL_WORKFLOW_TYPE, taskQueue: ctx.taskQueue, args: [{ lookbackDays: 3 }] });

      await schedule.trigger();
      const started = await eventually(() => schedule.describe(), (d) => d.info.recentActions.length === 1, { description: 'the schedule started a backfill' });
      const result: StripeEventBackfillResult = await ctx.client.workflow.getHandle(started.info.recentActions[0]!.action.workflow.workflowId).result();

      // One page per group of ≤ 20 handled types, the handled types only: the four missed events inserted, the
      // delivered one found present.
      expect(result).toMatchObject({ pages: TYPE_GROUPS, listed: 5, inserted: 4, alreadyPresent: 1, malformed: 0 });
      const requests = eventRequests(fake);
      expect(requests).toHaveLength(TYPE_GROUPS);
      expect(requests.flatMap((r) => formList(r.query.types))).toEqual([...HANDLED_EVENT_TYPES]);
      for (const request of requests) {
        expect(formList(request.query.types).length).toBeLessThanOrEqual(20);
        expect(request.query).toMatchObject({ limit: '100', created: { gte: String(result.window.fromCreated) } });
      }
      expect(result.window.fromCreated).toBe(result.window.listingStartedAt - 3 * 86_400); // first run: the lookback
      for (const e of untreated) expect(await inboxCount(ctx.pool, 'event_id = $1', [e.id])).toBe(0);

      // The cursor: the newest event seen, no later than the run's start − settle.
      const newest = Math.max(delivered.created, ...missed.map((e) => e.created));
      cursorAfterFirstRun = Math.min(newest, result.window.listingStartedAt - BACKFILL_SETTLE_SECONDS);
      expect(result.cursorAfter).toBe(cursorAfterFirstRun);
      expect(await readBackfillCursor(ctx.pool)).toBe(cursorAfterFirstRun);
    } finally {
      await schedule.delete();
    }

    // The relay dispatched the inserted rows like deliveries: credited, mirrored, refunded — once each.
    for (const e of missed) {
      expect(await inboxRowReaches(ctx.pool, e.id, 'processed')).toMatchObject({ eventType: e.type });
      expect(await sourceOf(e.id)).toBe('backfill');
      const stored = await ctx.pool.query('SELECT payload FROM stripe_webhook_events WHERE event_id = $1', [e.id]);
      expect(stored.rows[0].payload).toEqual(e); // the event Stripe lists is the event it would have delivered
    }
    expect(await sourceOf(delivered.id)).toBe('webhook');
    const credits = [[pi1, c1, 1_100], [pi2, c2, 2_200], [pi3, c3, 3_300]] as const;
    for (const [pi, c, amount] of credits) {
      const money = await paymentCredited(pi, c.customerId);
      expect(money.ledgerCredits).toEqual([{ id: expect.any(String), amount_minor: amount }]);
      expect(money.stripeCredits).toHaveLength(1);
    }
    await eventually(() => ledgerOf(pi0), (rows) => rows.length === 2, { description: 'the missed refund debited' });
    expect(await ledgerOf(pi0)).toEqual([
      { kind: 'payment_credit', amount_minor: 3_000 },
      { kind: 'refund_debit', amount_minor: -500 },
    ]);

    // The endpoint is back and Stripe redelivers what it had not got through: every one a duplicate.
    for (const e of [...missed, delivered]) {
      expect(await deliver(stack.api.url, e)).toMatchObject({ status: 200, body: { received: true, duplicate: true } });
      expect(await workflowsWithId(e.id)).toBe(1);
    }
    for (const [pi, c] of credits) {
      const money = await moneyFor(ctx, fake, pi, c.customerId);
      expect([money.ledgerCredits.length, money.stripeCredits.length]).toEqual([1, 1]);
    }
    expect(await ledgerOf(pi0)).toHaveLength(2);

    // A second run lists the overlap again and inserts nothing.
    const again = await runBackfill(ctx);
    expect(again.window.fromCreated).toBe(cursorAfterFirstRun - BACKFILL_OVERLAP_SECONDS);
    expect(again).toMatchObject({ pages: TYPE_GROUPS, listed: 5, inserted: 0, alreadyPresent: 5 });
    expect(again.cursorAfter).toBeGreaterThanOrEqual(cursorAfterFirstRun);
  });

  it('a late-visible event (created before the cursor, within the overlap) is picked up by the next scheduled run; one past the overlap by `payconfirm events backfill --since`', async () => {
    const cursor = (await readBackfillCursor(ctx.pool))!;
    expect(cursor).toBeGreaterThanOrEqual(cursorAfterFirstRun);
    const [c5, c6] = [await newCustomer(ctx, fake), await newCustomer(ctx, fake)];
    const pi5 = newPaymentIntent(fake, c5.customerId, { amount: 505 });
    const pi6 = newPaymentIntent(fake, c6.customerId, { amount: 606 });
    // Both appear in Stripe's list only now, with a `created` before the cursor.
    const withinOverlap = fake.recordEvent('payment_intent.succeeded', fake.getPaymentIntent(pi5)!, { created: cursor - BACKFILL_OVERLAP_SECONDS + 30 });
    const pastOverlap = fake.recordEvent('payment_intent.succeeded', fake.getPaymentIntent(pi6)!, { created: cursor - BACKFILL_OVERLAP_SECONDS - 120 });

    const scheduled = await runBackfill(ctx);
    expect(scheduled).toMatchObject({ inserted: 1 });
    expect(await inboxCount(ctx.pool, 'event_id = $1', [withinOverlap.id])).toBe(1);
    expect(await inboxCount(ctx.pool, 'event_id = $1', [pastOverlap.id])).toBe(0);
    await paymentCredited(pi5, c5.customerId);

    const cursorBeforeCli = (await readBackfillCursor(ctx.pool))!;
    const requestsBefore = eventRequests(fake).length;
    const cli = await payconfirm(['events', 'backfill', '--since', '2h', '--json']);
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    expect(cli.json).toMatchObject({
      workflow_id: expect.stringMatching(/^stripe-event-backfill-manual-/),
      pages: TYPE_GROUPS,
      inserted: 1,
      malformed: 0,
      cursor_before: new Date(cursorBeforeCli * 1000).toISOString(),
    });
    expect(cli.json.listed).toBe(cli.json.inserted + cli.json.already_present);
    expect(Date.parse(cli.json.since)).toBeGreaterThan(Date.now() - 2 * 3_600_000 - 60_000);
    expect(eventRequests(fake).length - requestsBefore).toBe(TYPE_GROUPS);
    expect(await sourceOf(pastOverlap.id)).toBe('backfill');
    const money = await paymentCredited(pi6, c6.customerId);
    expect(money.ledgerCredits).toEqual([{ id: expect.any(String), amount_minor: 606 }]);

    // Run again: nothing left to insert; the text output says so.
    const text = await payconfirm(['events', 'backfill', '--since', new Date(Date.now() - 3_600_000).toISOString()]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`${TYPE_GROUPS} page\\(s\\), \\d+ listed, 0 inserted into the inbox, \\d+ already there\\.`));
    expect(text.stdout).toMatch(/workflow stripe-event-backfill-manual-/);
  });

  it('payconfirm events backfill refuses a missing, malformed, too old or future --since (exit 1, nothing started)', async () => {
    const backfills = async () => (await ctx.client.workflow.count(`WorkflowType = '${STRIPE_EVENT_BACKFILL_WORKFLOW_TYPE}' AND TaskQueue = '${ctx.taskQueue}'`)).count;
    const before = await backfills();
    const [missing, tooOld] = await Promise.all([payconfirm(['events', 'backfill']), payconfirm(['events', 'backfill', '--since', '31d'])]);
    expect(missing).toMatchObject({ code: 1, stdout: '' });
    expect(missing.stderr).toContain('--since is required');
    expect(tooOld).toMatchObject({ code: 1, stdout: '' });
    expect(tooOld.stderr).toContain('at most 30 days');
    expect(await backfills()).toBe(before);

    const now = new Date('2025-03-31T12:00:00Z');
    expect(parseBackfillSince('90m', now).toISOString()).toBe('2025-03-31T10:30:00.000Z');
    expect(parseBackfillSince('2d', now).toISOString()).toBe('2025-03-29T12:00:00.000Z');
    expect(parseBackfillSince('30d', now).toISOString()).toBe('2025-03-01T12:00:00.000Z');
    expect(parseBackfillSince('2025-03-30', now).toISOString()).toBe('2025-03-30T00:00:00.000Z');
    expect(() => parseBackfillSince('yesterday', now)).toThrow(/--since wants an ISO date or date-time, or an age/);
    expect(() => parseBackfillSince('12', now)).toThrow(/--since wants/);
    expect(() => parseBackfillSince('31d', now)).toThrow(/at most 30 days/);
    expect(() => parseBackfillSince('2025-04-01', now)).toThrow(/in the future/);
  });

  it('with STRIPE_EVENT_BACKFILL_INTERVAL_MINUTES=0 the schedule is not wanted: ensuring removes it', async () => {
    const scheduleId = await ensureStripeEventBackfillSchedule(ctx.client, ctx.taskQueue, { intervalMinutes: 5, lookbackDays: 1 });
    expect(await ctx.client.schedule.getHandle(scheduleId!).describe()).toMatchObject({ action: { args: [{ lookbackDays: 1 }] } });
    expect(await ensureStripeEventBackfillSchedule(ctx.client, ctx.taskQueue, { intervalMinutes: 0, lookbackDays: 1 })).toBeNull();
    await expect(ctx.client.schedule.getHandle(scheduleId!).describe()).rejects.toThrow();
    expect(await ensureStripeEventBackfillSchedule(ctx.client, ctx.taskQueue, { intervalMinutes: 0, lookbackDays: 1 })).toBeNull(); // idempotent
  });

  /** `payconfirm …` as a real subprocess against this file's schema and task queue (the workers run in this process). */
  const payconfirm = (args: string[]): Promise<CliRun> =>
    runPayconfirm(args, { DATABASE_URL: ctx.databaseUrl, DATABASE_SCHEMA: ctx.schema, TEMPORAL_ADDRESS: ctx.temporalAddress, TEMPORAL_TASK_QUEUE: ctx.taskQueue });
});

describe('the Stripe request budget: one request per page of 100, on the Stripe task queue', () => {
  let ctx: TestContext;
  let fake: FakeStripe;
  let workers: RunningWorkers;
  const metrics = createMetrics();
  beforeAll(async () => {
    // No API and no relay here: the inserted rows stay `received`, nothing else calls Stripe.
    ctx = await createTestContext('stripe-event-backfill-pages');
    fake = await startFakeStripe();
    workers = await startTestWorkers(ctx, { stripe: stripeClientFor(fake.url), metrics });
  });
  afterAll(async () => {
    await workers?.stop();
    await fake?.close();
    await ctx?.close();
  });

  it('250 handled events among 30 others: 3 requests (ceil(250/100)) for their type group and one per other group, 250 rows; across continue-as-new the same pages, nothing inserted twice', async () => {
    const handled = ['payment_intent.payment_failed', 'payment_intent.canceled', 'charge.dispute.updated', 'refund.updated', 'payment_intent.processing'];
    const untreated = ['payment_intent.created', 'customer.updated', 'charge.succeeded'];
    const pis = Array.from({ length: 10 }, () => fake.createPaymentIntent({ amount: 700, currency: 'usd', status: 'requires_payment_method' }));
    const now = nowSeconds();
    for (let i = 0; i < 280; i++) {
      const pi = pis[i % pis.length]!;
      const type = i < 250 ? handled[i % handled.length]! : untreated[i % untreated.length]!;
      const [prefix, objectType] = type.startsWith('refund.') ? ['re', 'refund'] : ['ch', 'charge'];
      const object = type.startsWith('payment_intent.') ? pi : { id: `${prefix}_${pi.id.slice(3)}`, object: objectType, payment_intent: pi.id };
      fake.recordEvent(type, object, { created: now - 3_600 + i * 10 });
    }

    // The five handled types above are all in the first group; every other group's listing is one (empty) page.
    const groups = eventTypeGroups(HANDLED_EVENT_TYPES);
    expect(handled.every((t) => groups[0]!.includes(t))).toBe(true);
    const pages = 3 + (TYPE_GROUPS - 1);
    const first = await runBackfill(ctx);
    expect(first).toMatchObject({ pages, listed: 250, inserted: 250, alreadyPresent: 0, malformed: 0 });
    const requests = eventRequests(fake);
    expect(requests).toHaveLength(pages);
    expect(requests.map((r) => r.query.starting_after)).toEqual([undefined, expect.stringMatching(/^evt_/), expect.stringMatching(/^evt_/), ...groups.slice(1).map(() => undefined)]);
    expect(requests.map((r) => formList(r.query.types))).toEqual([groups[0], groups[0], groups[0], ...groups.slice(1)]);
    expect(requests.every((r) => r.status === 200 && r.query.limit === '100')).toBe(true);
    expect(await inboxCount(ctx.pool)).toBe(250);
    expect(await inboxCount(ctx.pool, "source = 'backfill' AND status = 'received'")).toBe(250);
    expect(await inboxCount(ctx.pool, 'event_type = ANY($1)', [untreated])).toBe(0);
    expect(await metrics.registry.getSingleMetricAsString('payconfirm_stripe_events_backfilled_total')).toContain('payconfirm_stripe_events_backfilled_total{result="inserted"} 250');
    expect(await metrics.registry.getSingleMetricAsString('payconfirm_stripe_calls_total')).toContain(`payconfirm_stripe_calls_total{endpoint="GET /v1/events",status="200"} ${pages}`);

    // A listing longer than a run continues as new, carrying its window, position (group, page) and totals: one page per run here.
    const since = now - 7_200;
    const workflowId = `stripe-event-backfill-test-paged-${uniqueSuffix()}`;
    const paged = await runBackfill(ctx, { sinceCreated: since, pagesPerRun: 1 }, workflowId);
    expect(paged).toMatchObject({ pages, listed: 250, inserted: 0, alreadyPresent: 250, window: { fromCreated: since } });
    const runsOf = async () => {
      const runs: string[] = [];
      for await (const run of ctx.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push(run.status.name);
      return runs.sort();
    };
    // Visibility lags the result: wait until every run is listed closed.
    expect(await eventually(runsOf, (runs) => runs.length === pages && !runs.includes('RUNNING'), { description: `${pages} runs listed, all closed` })).toEqual(['COMPLETED', ...Array.from({ length: pages - 1 }, () => 'CONTINUED_AS_NEW')]);
    expect(eventRequests(fake)).toHaveLength(2 * pages);
    expect(await inboxCount(ctx.pool)).toBe(250);
  });
});
