import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findInboxEvent, insertInboxEvent } from '../src/db/webhook-inbox.js';
import { summariseStripeEvent } from '../src/domain/stripe-events.js';
import { runPayconfirm, type CliRun } from './support/cli-process.js';
import { eventually } from './support/eventually.js';
import { startFakeStripe, type FakeStripe } from './support/fake-stripe/index.js';
import { expectBooksFollowStripe, ledgerOf, paymentSettles } from './support/payment-books.js';
import { newCustomer, newPaymentIntent } from './support/payment-fixtures.js';
import { deliver, inboxCount, inboxRowReaches, paymentIntentEvent, startTestRelay, startWebhookApi, workflowExists } from './support/stripe-webhooks.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';
import type { TestApi } from './support/test-api.js';
import { createTestContext, startTestWorkers, stripeClientFor, TEST_TUNING, type RunningWorkers, type TestContext } from './support/test-context.js';
import type { InboxRelay } from '../src/webhooks/inbox-relay.js';

/**
 * Issue 11: nothing a webhook brought is lost for good. A forward that fails ends `failed` and an operator's
 * `events replay` applies it once; a row Temporal keeps refusing becomes `dead` without holding up fresh rows.
 * Real Temporal, real Postgres; the event activities reach Temporal through a TCP proxy the test can cut.
 */
let ctx: TestContext;
let fake: FakeStripe;
let proxy: TcpProxy;
let proxiedConnection: Connection;
let workers: RunningWorkers;
let api: TestApi;
let relay: InboxRelay;

beforeAll(async () => {
  ctx = await createTestContext('webhook-recovery');
  fake = await startFakeStripe();
  proxy = await startTcpProxy(ctx.temporalAddress);
  // No gRPC retry interceptor: while the proxy is cut a call fails at once, and no retry lands after the cut ends.
  proxiedConnection = await Connection.connect({ address: proxy.address, interceptors: [] });
  const activityClient = new Client({ connection: proxiedConnection, namespace: 'default' });
  workers = await startTestWorkers(ctx, { stripe: stripeClientFor(fake.url), activityClient });
  api = await startWebhookApi(ctx, { stripe: stripeClientFor(fake.url) });
  // The event workflow's forward gives up after 3 attempts of at most 2 s: `failed` within seconds.
  api.deps.payments.tuning = { ...TEST_TUNING, activityTimeout: '2 seconds', activityRetry: { maximumAttempts: 3, initialInterval: '100 milliseconds', maximumInterval: '200 milliseconds' } };
  relay = startTestRelay(ctx, api, { batchSize: 5, deadLetter: { maxAttempts: 3, initialSeconds: 2, maxSeconds: 4 } });
});
afterAll(async () => {
  await relay?.stop();
  await api?.close();
  await workers?.stop();
  await proxiedConnection?.close();
  await proxy?.close();
  await fake?.close();
  await ctx?.close();
});

const payconfirm = (args: string[]): Promise<CliRun> =>
  runPayconfirm(args, {
    DATABASE_URL: ctx.databaseUrl,
    DATABASE_SCHEMA: ctx.schema,
    TEMPORAL_ADDRESS: ctx.temporalAddress,
    TEMPORAL_TASK_QUEUE: ctx.taskQueue,
  });

const creditsOf = async (pi: string) => (await ledgerOf(ctx, pi)).filter((r) => r.kind === 'payment_credit');
const runsOf = async (workflowId: string) => (await ctx.client.workflow.count(`WorkflowId = '${workflowId}'`)).count;

describe('a failed forward, replayed by an operator', () => {
  it('ends failed while the payment workflow cannot be reached; events replay (one, then by status) credits each exactly once', async () => {
    const customer = await newCustomer(ctx, fake);
    const pis = [newPaymentIntent(fake, customer.customerId, { amount: 1_100 }), newPaymentIntent(fake, customer.customerId, { amount: 1_200 }), newPaymentIntent(fake, customer.customerId, { amount: 1_300 })];
    const events = pis.map((pi) => paymentIntentEvent(fake, 'payment_intent.succeeded', pi));

    proxy.cut();
    for (const event of events) expect((await deliver(api.url, event)).status).toBe(200);
    for (const event of events) {
      const row = await inboxRowReaches(ctx.pool, event.id, 'failed');
      expect(row?.outcome).toMatch(/^forward_failed: pi_/);
      expect(row?.lastError).toBeTruthy();
    }
    for (const pi of pis) {
      expect(await workflowExists(ctx.client, pi)).toBe(false);
      expect(await creditsOf(pi)).toEqual([]);
    }
    // Stripe's redelivery (or the Dashboard's "Resend") is a duplicate: it cannot revive the event.
    expect((await deliver(api.url, events[0]!)).body).toMatchObject({ received: true, duplicate: true });
    expect((await findInboxEvent(ctx.pool, events[0]!.id))?.status).toBe('failed');

    proxy.restore();
    await eventually(
      () => proxiedConnection.workflowService.getSystemInfo({}).then(() => true, () => false),
      (up) => up,
      { description: 'the proxied connection reaches Temporal again' },
    );

    // One by id.
    const one = await payconfirm(['events', 'replay', events[0]!.id]);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toMatch(new RegExp(`^replayed +${events[0]!.id}`, 'm'));
    await inboxRowReaches(ctx.pool, events[0]!.id, 'processed');

    // The rest by status, after a dry run that changes nothing.
    const dry = await payconfirm(['events', 'replay', '--status', 'failed', '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.json.event_ids.sort()).toEqual([events[1]!.id, events[2]!.id].sort());
    expect(await inboxCount(ctx.pool, "status = 'failed'")).toBe(2);
    const bulk = await payconfirm(['events', 'replay', '--status', 'failed']);
    expect(bulk.code, bulk.stderr).toBe(0);
    expect(bulk.stdout).toContain('2 replayed, 0 still running, 0 skipped, 0 failed.');
    expect(bulk.stdout).toContain('(2/2)');

    for (const [i, pi] of pis.entries()) {
      await inboxRowReaches(ctx.pool, events[i]!.id, 'processed');
      await paymentSettles(ctx, pi);
      expect((await creditsOf(pi)).map((r) => r.amount_minor)).toEqual([1_100 + 100 * i]);
      await expectBooksFollowStripe(ctx, fake, pi, { customerId: customer.customerId });
    }

    // A second replay of a processed event is a new run, and still moves no money twice.
    const again = await payconfirm(['events', 'replay', events[0]!.id]);
    expect(again.code, again.stderr).toBe(0);
    const row = await inboxRowReaches(ctx.pool, events[0]!.id, 'processed');
    expect(row).toMatchObject({ replayCount: 2 });
    await paymentSettles(ctx, pis[0]!);
    expect(await creditsOf(pis[0]!)).toHaveLength(1);
    await expectBooksFollowStripe(ctx, fake, pis[0]!, { customerId: customer.customerId });
    expect(await runsOf(events[0]!.id)).toBe(3);
    const shown = await payconfirm(['events', 'show', events[0]!.id]);
    expect(shown.stdout).toContain('replayed   2 time(s)');
  }, 240_000); // five CLI subprocesses, each a fresh Node start

  it('refuses what cannot be replayed, with a reason and exit 4', async () => {
    const unknown = await payconfirm(['events', 'replay', 'evt_neverReceived']);
    expect(unknown.code).toBe(4);
    expect(unknown.stdout).toMatch(/^skipped +evt_neverReceived +no such event in the inbox/m);
    const both = await payconfirm(['events', 'replay', 'evt_x', '--status', 'failed']);
    expect(both.code).toBe(1);
    const badStatus = await payconfirm(['events', 'replay', '--status', 'processed']);
    expect(badStatus.code).toBe(1);
    expect(badStatus.stderr).toContain('--status is one of failed, dead');
  });
});

describe('dead letters', () => {
  it('a row Temporal keeps refusing goes dead after its attempts while fresh rows flow; replay cannot revive it and says why', async () => {
    // Poisoned rows: an event type longer than Temporal accepts in a search attribute (2 KB), so every start of
    // their workflow is refused (INVALID_ARGUMENT). Stripe never sends such; they go straight into the inbox,
    // ahead of the fresh rows.
    const tag = Math.random().toString(36).slice(2, 8);
    const poisoned = Array.from({ length: 8 }, (_, i) => {
      const body = { id: `evt_poison${i}_${tag}`, object: 'event', type: `customer.${'x'.repeat(3_000)}`, created: 1_700_000_000, livemode: false, api_version: null, data: { object: { id: `cus_poison${i}`, object: 'customer' } } };
      const summary = summariseStripeEvent(body);
      if (!summary.ok) throw new Error(summary.problem);
      return { summary: summary.summary, raw: JSON.stringify(body) };
    });
    for (const p of poisoned) expect(await insertInboxEvent(ctx.pool, p.summary, p.raw)).toBe('inserted');
    relay.wake();

    const customer = await newCustomer(ctx, fake);
    const fresh = Array.from({ length: 6 }, () => newPaymentIntent(fake, customer.customerId));
    const freshEvents = fresh.map((pi) => paymentIntentEvent(fake, 'payment_intent.succeeded', pi));
    for (const event of freshEvents) expect((await deliver(api.url, event)).status).toBe(200);
    for (const [i, event] of freshEvents.entries()) {
      await inboxRowReaches(ctx.pool, event.id, 'processed');
      await paymentSettles(ctx, fresh[i]!);
      expect(await creditsOf(fresh[i]!)).toHaveLength(1);
    }

    const ids = poisoned.map((p) => p.summary.id);
    const dead = await eventually(
      () => Promise.all(ids.map((id) => findInboxEvent(ctx.pool, id))),
      (rows) => rows.every((r) => r?.status === 'dead'),
      { timeoutMs: 60_000, description: 'every poisoned row dead' },
    );
    for (const row of dead) {
      expect(row).toMatchObject({ refusedStarts: 3, attempts: 3, outcome: 'dead_letter: the event workflow could not be started', nextAttemptAt: null });
      expect(row?.lastError).toMatch(/^Temporal refused the event workflow: /);
    }
    // Fresh rows never waited behind the poisoned ones: each was dispatched before the first poisoned row died.
    const { rows: order } = await ctx.pool.query<{ fresh_dispatched: Date; first_death: Date }>(
      `SELECT (SELECT max(dispatched_at) FROM stripe_webhook_events WHERE event_id = ANY($1)) AS fresh_dispatched,
              (SELECT min(processed_at) FROM stripe_webhook_events WHERE event_id = ANY($2)) AS first_death`,
      [freshEvents.map((e) => e.id), ids],
    );
    expect(order[0]!.fresh_dispatched.getTime()).toBeLessThan(order[0]!.first_death.getTime());
    expect((await api.deps.metrics!.registry.getSingleMetric('payconfirm_webhook_events_dead_lettered_total')!.get()).values[0]!.value).toBe(8);

    const listed = await payconfirm(['events', 'list', '--status', 'dead', '--json']);
    expect(listed.json.map((r: { event_id: string }) => r.event_id).sort()).toEqual([...ids].sort());

    // Replaying a dead row asks Temporal again; refused again, the row stays dead with the reason.
    const replay = await payconfirm(['events', 'replay', ids[0]!]);
    expect(replay.code).toBe(4);
    expect(replay.stdout).toMatch(new RegExp(`^failed +evt_poison0_${tag} +`, 'm'));
    expect(await findInboxEvent(ctx.pool, ids[0]!)).toMatchObject({ status: 'dead', replayCount: 1, lastError: expect.stringMatching(/^replay failed: /) });
  });

  it('a stored body that is no Stripe event is dead at once, never retried', async () => {
    await ctx.pool.query(
      `INSERT INTO stripe_webhook_events (event_id, event_type, livemode, payload) VALUES ('evt_notAnEvent1', 'payment_intent.succeeded', false, '{"hello": "world"}')`,
    );
    relay.wake();
    const row = await inboxRowReaches(ctx.pool, 'evt_notAnEvent1', 'dead');
    expect(row).toMatchObject({ outcome: 'undeliverable', attempts: 1, refusedStarts: 0 });
    expect(row?.lastError).toMatch(/^stored payload is not a Stripe event/);
  });
});
