import { defaultPayloadConverter } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { verifyLedger } from '../src/db/ledger-verify.js';
import type { StripeEventSummary } from '../src/domain/stripe-events.js';
import { projectRoot } from '../src/runtime/project-paths.js';
import { backfillTypeGroups, routesForEventType, wildcardGroup } from '../src/routes/route-matching.js';
import { withFailedRoutes, withRoutedForwards } from '../src/routes/route-outcome.js';
import { loadRoutesFile, parseRoutesFile, RoutesFileError, type TeamRoute } from '../src/routes/routes-file.js';
import { connectWorker } from '../src/temporal/connection.js';
import { stripeTaskQueueFor } from '../src/temporal/task-queues.js';
import type { InboxRelay } from '../src/webhooks/inbox-relay.js';
import { runPayconfirm, type CliRun } from './support/cli-process.js';
import { eventually } from './support/eventually.js';
import { startFakeStripe, type EventObject, type FakeStripe } from './support/fake-stripe/index.js';
import { ledgerCreditIds } from './support/payment-probes.js';
import { newCustomer, newPaymentIntent } from './support/payment-fixtures.js';
import { cleanEnv, runTsEntry } from './support/run-process.js';
import { deliver, inboxRowReaches, paymentIntentEvent, startTestRelay, startWebhookApi, subscriptionEvent, workflowExists } from './support/stripe-webhooks.js';
import { handledEvents, startTeamWorker, type HandledRow, type TeamWorkerProcess } from './support/team-routes.js';
import type { TestApi } from './support/test-api.js';
import { createTestContext, startTestWorkers, stripeClientFor, uniqueSuffix, type RunningWorkers, type TestContext } from './support/test-context.js';

/**
 * Issue 12, items 1 and 4: Stripe events routed to a team's own workflows (PAYCONFIRM_ROUTES_FILE). The team's
 * workflows and worker are examples/team-routes/, run as a real child process; payconfirm's workers, API, relay and
 * the CLI are real; Temporal and Postgres are the run's servers; Stripe is the fake.
 */

const EXAMPLE_DIR = join(projectRoot(), 'examples', 'team-routes');
const suffix = uniqueSuffix();
/** The example's `billing-team` queue, made unique to this run (the Temporal server is shared). */
const teamQueue = `billing-team-${suffix}`;
/** A route whose worker is not running at first. */
const lateQueue = `invoicing-team-${suffix}`;

let ctx: TestContext;
let fake: FakeStripe;
let tempDir: string;
let routesPath: string;
let routes: TeamRoute[];
let workers: RunningWorkers;
let api: TestApi;
let relay: InboxRelay;
const teamWorkers: TeamWorkerProcess[] = [];

/** The example's routes file, on this run's queues, plus `invoicing` (invoice.paid) on a queue nobody polls yet. */
function testRoutesYaml(): string {
  const example = readFileSync(join(EXAMPLE_DIR, 'payconfirm.routes.yaml'), 'utf8');
  return `${example.replaceAll('task_queue: billing-team', `task_queue: ${teamQueue}`)}
  - name: invoicing
    events: [invoice.paid]
    workflow_type: customerAuditWorkflow
    task_queue: ${lateQueue}
    id: per_event
`;
}

beforeAll(async () => {
  ctx = await createTestContext('team-routes');
  fake = await startFakeStripe();
  tempDir = mkdtempSync(join(tmpdir(), 'payconfirm-routes-'));
  routesPath = join(tempDir, 'payconfirm.routes.yaml');
  writeFileSync(routesPath, testRoutesYaml());
  routes = loadRoutesFile(routesPath, { payconfirmTaskQueues: [ctx.taskQueue, stripeTaskQueueFor(ctx.taskQueue)] });
  workers = await startTestWorkers(ctx, { stripe: stripeClientFor(fake.url), routes });
  api = await startWebhookApi(ctx, { stripe: stripeClientFor(fake.url) });
  relay = startTestRelay(ctx, api);
});
afterAll(async () => {
  await Promise.allSettled(teamWorkers.map((w) => w.stop(5_000)));
  await relay?.stop();
  await api?.close();
  await workers?.stop();
  await fake?.close();
  await ctx?.close();
  if (tempDir) rmSync(tempDir, { recursive: true, force: true });
});

async function teamWorker(taskQueue: string): Promise<TeamWorkerProcess> {
  const worker = await startTeamWorker(ctx, { taskQueue, stripeApiBase: fake.url });
  teamWorkers.push(worker);
  return worker;
}

const payconfirm = (args: string[]): Promise<CliRun> =>
  runPayconfirm(args, { DATABASE_URL: ctx.databaseUrl, DATABASE_SCHEMA: ctx.schema, TEMPORAL_ADDRESS: ctx.temporalAddress, TEMPORAL_TASK_QUEUE: ctx.taskQueue });

const shuffled = <T>(items: T[]): T[] => {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
};

const inboxStatuses = async (ids: string[]) =>
  (await ctx.pool.query<{ event_id: string; status: string; outcome: string | null; last_error: string | null }>(
    'SELECT event_id, status, outcome, last_error FROM stripe_webhook_events WHERE event_id = ANY($1)',
    [ids],
  )).rows;

/** The Stripe event ids a per_object workflow received, in arrival order (its signals, from its history). */
async function signalledEventIds(workflowId: string): Promise<string[]> {
  const history = await ctx.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).flatMap((e) => {
    const payload = e.workflowExecutionSignaledEventAttributes?.input?.payloads?.[0];
    return payload ? [defaultPayloadConverter.fromPayload<{ id: string }>(payload).id] : [];
  });
}

const rowsOf = (rows: HandledRow[], objectId: string) => rows.filter((r) => r.object_id === objectId).sort((a, b) => a.sequence - b.sequence);

describe('routes to the team’s own workflows (examples/team-routes, its own worker process)', () => {
  it('each routed event is handled exactly once — every delivery twice and shuffled, the team worker SIGKILLed mid-way — per object one at a time, in arrival order', { timeout: 300_000 }, async () => {
    const customer = fake.createCustomer();
    const subscriptions = [0, 1, 2].map(() => fake.createSubscription({ customer: customer.id, items: [{}] }).id);
    const eventsOf = new Map<string, EventObject[]>();
    for (const sub of subscriptions) {
      const events = [subscriptionEvent(fake, 'customer.subscription.created', sub)];
      fake.updateSubscription(sub, { status: 'past_due' });
      events.push(subscriptionEvent(fake, 'customer.subscription.updated', sub));
      fake.updateSubscription(sub, { status: 'active', quantity: 3 });
      events.push(subscriptionEvent(fake, 'customer.subscription.updated', sub));
      fake.cancelSubscription(sub);
      events.push(subscriptionEvent(fake, 'customer.subscription.deleted', sub));
      eventsOf.set(sub, events);
    }
    const subscriptionEvents = [...eventsOf.values()].flat();
    const customerEvents = [fake.recordEvent('customer.created', customer), fake.recordEvent('customer.updated', { ...customer, email: 'billing@example.com' })];
    const unrouted = fake.recordEvent('product.created', { id: `prod_${suffix}`, object: 'product', name: 'Credits' });
    // A payment beside them: its events never go to a route, and it is credited once.
    const payer = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, payer.customerId, { amount: 4_200 });
    const payment = paymentIntentEvent(fake, 'payment_intent.succeeded', pi);
    const routed = [...subscriptionEvents, ...customerEvents];
    const all = [...routed, unrouted, payment];

    // The first Stripe read of any event of the first subscription hangs: its workflow is then busy with that event.
    const [frozenSub, ...otherSubs] = subscriptions as [string, ...string[]];
    const frozenIds = eventsOf.get(frozenSub)!.map((e) => e.id);
    const freeze = fake.faults.add({ kind: 'timeout', method: 'GET', path: new RegExp(`^/v1/events/(${frozenIds.join('|')})$`) });

    const doomed = await teamWorker(teamQueue);
    const answers = await Promise.all(shuffled([...all, ...all]).map((e) => deliver(api.url, e)));
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    expect(answers.filter((a) => (a.body as { duplicate?: boolean }).duplicate === true)).toHaveLength(all.length);

    // payconfirm's side is done: every event's workflow forwarded it (a signal or a start) and wrote its row.
    await eventually(() => inboxStatuses(all.map((e) => e.id)), (rows) => rows.length === all.length && rows.every((r) => r.status !== 'received' && r.status !== 'dispatched'), {
      timeoutMs: 60_000,
      description: 'every inbox row settled',
    });
    await eventually(async () => freeze.held, (held) => held === 1, { timeoutMs: 30_000, description: 'a Stripe read of the first subscription held' });
    // One at a time: all four events reached the first subscription's workflow, and none is handled while the first is stuck.
    expect(new Set(await signalledEventIds(`billing-sync/${frozenSub}`))).toEqual(new Set(frozenIds));
    await eventually(() => handledEvents(ctx), (rows) => rows.length > 0, { timeoutMs: 60_000, description: 'some events handled before the kill' });
    const beforeKill = await handledEvents(ctx);
    expect(rowsOf(beforeKill, frozenSub)).toEqual([]);
    expect(beforeKill.length).toBeLessThan(routed.length);

    await doomed.kill();
    expect(await doomed.exited).toMatchObject({ signal: 'SIGKILL' });
    await eventually(async () => freeze.held, (held) => held === 0, { description: 'the held Stripe read abandoned' });
    await teamWorker(teamQueue);

    const rows = await eventually(() => handledEvents(ctx), (r) => r.length === routed.length, { timeoutMs: 120_000, description: `${routed.length} events handled` });
    // Exactly once: one row per routed event, and no second handling of any (the example counts one if it ever runs).
    expect(rows.map((r) => r.event_id).sort()).toEqual(routed.map((e) => e.id).sort());
    expect(rows.filter((r) => r.duplicate_handlings !== 0)).toEqual([]);
    for (const sub of subscriptions) {
      // In the order the events reached the workflow, numbered 1…4 by the one handler that ran at a time.
      const arrival = await signalledEventIds(`billing-sync/${sub}`);
      expect(arrival, `payconfirm signalled each event of ${sub} once`).toHaveLength(4);
      expect(rowsOf(rows, sub).map((r) => r.event_id), sub).toEqual(arrival);
      expect(rowsOf(rows, sub).map((r) => r.sequence), sub).toEqual([1, 2, 3, 4]);
      // The handler read each full event from Stripe: the subscription as it was when the event happened.
      const deleted = eventsOf.get(sub)!.at(-1)!.id;
      expect(rows.find((r) => r.event_id === deleted)).toMatchObject({ route: 'billing-sync', status: 'canceled' });
    }
    expect(otherSubs.every((sub) => rowsOf(rows, sub).length === 4)).toBe(true);

    // An operator replays an event the workflow already handled: payconfirm signals it again, the workflow drops it
    // (by event id), and the object's next event is the 5th it handles.
    const [again, next] = [eventsOf.get(frozenSub)![1]!, subscriptionEvent(fake, 'customer.subscription.updated', frozenSub)];
    const replay = await payconfirm(['events', 'replay', again.id]);
    expect(replay.code, replay.stdout + replay.stderr).toBe(0);
    await eventually(() => signalledEventIds(`billing-sync/${frozenSub}`), (ids) => ids.length === 5, { description: 'the replayed event signalled again' });
    expect((await deliver(api.url, next)).status).toBe(200);
    const after = await eventually(() => handledEvents(ctx), (r) => r.some((row) => row.event_id === next.id), { timeoutMs: 60_000, description: 'the next event handled' });
    expect(rowsOf(after, frozenSub).map((r) => [r.event_id, r.sequence])).toEqual([...rowsOf(rows, frozenSub).map((r) => [r.event_id, r.sequence]), [next.id, 5]]);
    expect(after.filter((r) => r.duplicate_handlings !== 0)).toEqual([]);
    for (const e of customerEvents) expect(rows.find((r) => r.event_id === e.id)).toMatchObject({ route: 'customer-audit', object_id: customer.id });

    // The inbox says where each went; payconfirm's own routing is untouched.
    const inbox = new Map((await inboxStatuses(all.map((e) => e.id))).map((r) => [r.event_id, r]));
    for (const e of subscriptionEvents) {
      expect(inbox.get(e.id)).toMatchObject({ status: 'processed', outcome: expect.stringContaining(`routed: billing-sync → billing-sync/${(e.data.object as { id: string }).id}`) });
    }
    for (const e of customerEvents) expect(inbox.get(e.id)).toMatchObject({ status: 'processed', outcome: `routed: customer-audit → customer-audit/${e.id}` });
    expect(inbox.get(unrouted.id)).toMatchObject({ status: 'ignored', outcome: 'ignored: event type product.created is not handled' });
    expect(inbox.get(payment.id)).toMatchObject({ status: 'processed', outcome: expect.stringMatching(new RegExp(`^forwarded_to_payment: ${pi}`)) });
    await eventually(() => ledgerCreditIds(ctx, pi), (ids) => ids.length === 1, { description: `${pi} credited` });
    expect(await verifyLedger(ctx.pool)).toMatchObject({ ok: true });

    // Containment: an event for routes is taken in after every payment event (priority key 5, payments' intake 4).
    const described = await Promise.all([customerEvents[0]!.id, payment.id].map((id) => ctx.client.workflow.getHandle(id).describe()));
    expect(described.map((d) => d.priority?.priorityKey)).toEqual([5, 4]);
  });

  it('a route whose task queue no worker polls: the event ends failed with the reason; once its worker runs, `events replay` hands it over once', { timeout: 240_000 }, async () => {
    const invoice = fake.recordEvent('invoice.paid', { id: `in_${uniqueSuffix()}`, object: 'invoice', status: 'paid', customer: null });
    expect((await deliver(api.url, invoice)).status).toBe(200);

    const failed = await inboxRowReaches(ctx.pool, invoice.id, 'failed');
    expect(failed).toMatchObject({
      outcome: 'route_failed: invoicing',
      lastError: expect.stringContaining(`route invoicing: no worker polls task queue ${lateQueue} (workflow type customerAuditWorkflow)`),
    });
    expect(failed?.lastError).toContain(`payconfirm events replay ${invoice.id}`);
    expect(await workflowExists(ctx.client, `invoicing/${invoice.id}`)).toBe(false);

    await teamWorker(lateQueue);
    const replay = await payconfirm(['events', 'replay', invoice.id]);
    expect(replay.code, replay.stdout + replay.stderr).toBe(0);
    const processed = await eventually(() => inboxStatuses([invoice.id]), (r) => r[0]?.status === 'processed', { description: 'replayed event processed' });
    expect(processed[0]).toMatchObject({ outcome: `routed: invoicing → invoicing/${invoice.id}`, last_error: null });
    const handled = await eventually(() => handledEvents(ctx), (rows) => rows.some((r) => r.event_id === invoice.id), { timeoutMs: 60_000, description: 'invoice handled' });
    expect(handled.filter((r) => r.event_id === invoice.id)).toEqual([expect.objectContaining({ route: 'invoicing', duplicate_handlings: 0 })]);
    const { runId } = await ctx.client.workflow.getHandle(`invoicing/${invoice.id}`).describe();

    // Replayed again: the route's workflow already ran (REJECT_DUPLICATE): nothing new starts, nothing runs twice.
    expect((await payconfirm(['events', 'replay', invoice.id])).code).toBe(0);
    await eventually(() => inboxStatuses([invoice.id]), (r) => r[0]?.status === 'processed', { description: 'second replay processed' });
    expect((await ctx.client.workflow.getHandle(`invoicing/${invoice.id}`).describe()).runId).toBe(runId);
    expect((await handledEvents(ctx)).filter((r) => r.event_id === invoice.id)).toEqual([expect.objectContaining({ duplicate_handlings: 0 })]);
  });

  it('the backfill lists the routes’ event types too: an event the endpoint never got reaches its route', { timeout: 180_000 }, async () => {
    await teamWorker(teamQueue); // (the first test's survivor may be gone if it failed)
    const customer = fake.createCustomer();
    const missed = fake.recordEvent('customer.deleted', { ...customer, deleted: true }); // never delivered
    const backfill = await payconfirm(['events', 'backfill', '--since', '1h', '--wait', '120000', '--json']);
    expect(backfill.code, backfill.stdout + backfill.stderr).toBe(0);
    expect(backfill.json).toMatchObject({ inserted: expect.any(Number) });
    expect(backfill.json.inserted).toBeGreaterThanOrEqual(1);
    const row = await inboxRowReaches(ctx.pool, missed.id, 'processed', 60_000);
    expect(row).toMatchObject({ outcome: `routed: customer-audit → customer-audit/${missed.id}` });
    await eventually(() => handledEvents(ctx), (rows) => rows.some((r) => r.event_id === missed.id), { timeoutMs: 60_000, description: 'backfilled event handled' });
    // The wildcard route went out as Stripe's `type` filter (types[] takes exact names only), within Stripe's 20 a listing.
    const listings = fake.requestsTo('GET', '/v1/events').map((r) => r.query);
    const typesOf = (q: Record<string, unknown>): unknown[] => (Array.isArray(q.types) ? q.types : typeof q.types === 'object' && q.types !== null ? Object.values(q.types) : []);
    expect(listings.some((q) => q.type === 'customer.subscription.*')).toBe(true);
    expect(listings.some((q) => typesOf(q).includes('customer.deleted'))).toBe(true);
  });
});

describe('handleRoutedEvents (payconfirm/routes), on a real worker', () => {
  it('drops repeated event ids across continue-as-new, handles the rest once each in arrival order, and ends idle only with nothing queued', { timeout: 120_000 }, async () => {
    const taskQueue = `routed-helper-${uniqueSuffix()}`;
    const handled: [string, number][] = [];
    const connection = await connectWorker({ address: ctx.temporalAddress, namespace: 'default' });
    const worker = await Worker.create({
      connection,
      taskQueue,
      workflowsPath: join(projectRoot(), 'test', 'support', 'routed-test-workflows.ts'),
      activities: { recordHandled: async (eventId: string, sequence: number) => void handled.push([eventId, sequence]) },
    });
    const running = worker.run();
    try {
      const objectId = `sub_helper${uniqueSuffix()}`;
      const ids = Array.from({ length: 24 }, (_, i) => `evt_helper${i}_${uniqueSuffix()}`);
      const event = (id: string) => ({ id, type: 'customer.subscription.updated', created: 1, livemode: false, apiVersion: null, objectId, objectType: 'subscription', route: 'helper' });
      const input = { route: 'helper', objectId, objectType: 'subscription', signal: 'stripeEvent' };
      const send = (id: string) =>
        ctx.client.workflow.signalWithStart('compactRoutedWorkflow', { taskQueue, workflowId: `helper/${objectId}`, args: [input], signal: 'stripeEvent', signalArgs: [event(id)] });
      const first = await send(ids[0]!);
      // Every event twice — the copy right away, then again once later events have gone through — as retried forwards and replays would.
      for (const [i, id] of ids.entries()) {
        await send(id);
        await send(id);
        if (i >= 5) await send(ids[i - 5]!);
      }
      const result = await ctx.client.workflow.getHandle(`helper/${objectId}`).result();
      expect(result).toEqual({ handled: ids.length });
      expect(handled).toEqual(ids.map((id, i) => [id, i + 1]));
      const last = await ctx.client.workflow.getHandle(`helper/${objectId}`).describe();
      expect(last.runId, 'it continued as new on the way').not.toBe(first.signaledRunId);
    } finally {
      worker.shutdown();
      await running;
      await connection.close();
    }
  });
});

describe('the routes file (PAYCONFIRM_ROUTES_FILE)', () => {
  const parse = (yaml: string) => parseRoutesFile(yaml, '/etc/payconfirm.routes.yaml', { payconfirmTaskQueues: ['payconfirm', 'payconfirm-stripe'] });
  const mistakesOf = (yaml: string): string[] => {
    try {
      parse(yaml);
    } catch (err) {
      if (err instanceof RoutesFileError) return err.mistakes;
      throw err;
    }
    throw new Error('no mistake found');
  };

  it('the example file is valid: two routes, with their defaults', () => {
    expect(loadRoutesFile(join(EXAMPLE_DIR, 'payconfirm.routes.yaml'))).toEqual([
      { name: 'billing-sync', events: ['customer.subscription.*'], workflowType: 'billingSyncWorkflow', taskQueue: 'billing-team', id: 'per_object', signal: 'stripeEvent' },
      {
        name: 'customer-audit',
        events: ['customer.created', 'customer.updated', 'customer.deleted'],
        workflowType: 'customerAuditWorkflow',
        taskQueue: 'billing-team',
        id: 'per_event',
        signal: 'stripeEvent',
      },
    ]);
    expect(loadRoutesFile(undefined)).toEqual([]);
    expect(parse('')).toEqual([]);
    expect(parse('routes: []')).toEqual([]);
  });

  it('names every mistake on a line of its own, with the route and the field', () => {
    const mistakes = mistakesOf(`
routes:
  - name: billing-sync
    events: [customer.subscription.*, payment_intent.succeeded, charge.*, "Not A Type"]
    workflow_type: billingSyncWorkflow
    id: per_thing
    queue: billing
  - name: audit
    events: []
    workflow_type: audit workflow
    task_queue: payconfirm
    id: per_event
    signal: stripeEvent
  - name: billing-sync
    events: [customer.created, customer.created]
    workflow_type: w
    task_queue: q
    id: per_object
  - just a string
`);
    expect(mistakes).toEqual([
      'route "billing-sync" (routes[0]): task_queue is required',
      'route "billing-sync" (routes[0]): id must be per_event or per_object',
      'route "billing-sync" (routes[0]): unknown field "queue" (a route has name, events, workflow_type, task_queue, id, signal)',
      `route "billing-sync" (routes[0]): events[1] "payment_intent.succeeded" is payconfirm's own payment event (money moves only through the payment workflow; for ledger movements use the outgoing notifications)`,
      `route "billing-sync" (routes[0]): events[2] "charge.*" covers charge.refunded, charge.refund.updated, charge.dispute.created, charge.dispute.updated, charge.dispute.closed, charge.dispute.funds_withdrawn, charge.dispute.funds_reinstated: payconfirm's own payment events (money moves only through the payment workflow; for ledger movements use the outgoing notifications)`,
      'route "billing-sync" (routes[0]): events[3] "Not A Type" is not a Stripe event type: an exact type (customer.created) or a prefix ending in .* (customer.subscription.*)',
      'route "audit" (routes[1]): events must list at least one event type',
      'route "audit" (routes[1]): workflow_type must be a workflow type: 1–255 characters, no spaces',
      'route "audit" (routes[1]): signal applies to per_object routes only (a per_event workflow gets the event as its argument)',
      `route "audit" (routes[1]): task_queue "payconfirm" is payconfirm's own: a route's workflow runs on the team's worker and queue`,
      'route "billing-sync" (routes[2]): name "billing-sync" is already the name of routes[0] (names are workflow id prefixes: each must be unique)',
      'route "billing-sync" (routes[2]): events lists "customer.created" more than once',
      'route (routes[3]): must be a mapping with name, events, workflow_type, task_queue and id',
    ]);
  });

  it('tells YAML syntax errors by line, and a file that is not a list of routes', () => {
    expect(mistakesOf('routes:\n  - name: a\n   events: [x.y]\n')).toEqual([expect.stringMatching(/^line 3, column \d+: .+ \(not valid YAML\)$/)]);
    expect(mistakesOf('routes:\n  - name: a\n    name: b\n')).toEqual([expect.stringMatching(/^line 3, column \d+: Map keys must be unique.* \(not valid YAML\)$/)]);
    expect(mistakesOf('- name: a')).toEqual(['the file must be a mapping with a `routes:` list']);
    expect(mistakesOf('route: []')).toEqual(['routes is required', 'unknown field "route"']);
    expect(() => loadRoutesFile(join(tempDir, 'missing.yaml'))).toThrow(/^PAYCONFIRM_ROUTES_FILE \(.*missing\.yaml\) has a mistake; no worker starts until it is fixed:\n {2}the file does not exist$/);
  });

  it('the payconfirm worker refuses to start on a bad routes file: one line naming the file, then one line per mistake, exit 1', async () => {
    const bad = join(tempDir, 'bad.routes.yaml');
    writeFileSync(bad, 'routes:\n  - name: x\n    events: [refund.created]\n    workflow_type: w\n    task_queue: q\n    id: per_event\n    extra: 1\n');
    const r = await runTsEntry(
      'src/worker/main.ts',
      [],
      cleanEnv({
        STRIPE_SECRET_KEY: 'sk_test_startup',
        STRIPE_WEBHOOK_SECRET: 'whsec_startup',
        DATABASE_URL: inject('databaseUrl'),
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        PAYCONFIRM_ROUTES_FILE: bad,
      }),
    );
    expect(r.code).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => l.trim() && !l.includes('Unknown user config'));
    expect(lines).toEqual([
      `payconfirm worker: invalid configuration: PAYCONFIRM_ROUTES_FILE (${bad}) has 2 mistakes; no worker starts until it is fixed:`,
      '  route "x" (routes[0]): unknown field "extra" (a route has name, events, workflow_type, task_queue, id, signal)',
      `  route "x" (routes[0]): events[0] "refund.created" is payconfirm's own payment event (money moves only through the payment workflow; for ledger movements use the outgoing notifications)`,
    ]);
  });
});

describe('route matching, outcomes and the backfill’s listings (pure)', () => {
  const route = (name: string, events: string[]) => ({ name, events });

  it('a route takes exact types and prefix wildcards, never a payment type; several routes may take one event', () => {
    const rs = [route('subs', ['customer.subscription.*']), route('customers', ['customer.*']), route('paid', ['invoice.paid'])];
    expect(routesForEventType(rs, 'customer.subscription.updated').map((r) => r.name)).toEqual(['subs', 'customers']);
    expect(routesForEventType(rs, 'customer.created').map((r) => r.name)).toEqual(['customers']);
    expect(routesForEventType(rs, 'customer.subscriptionx').map((r) => r.name)).toEqual(['customers']);
    expect(routesForEventType(rs, 'invoice.paid_out')).toEqual([]);
    // Even a hand-made route list that names one (the file refuses it) never gets a payment event.
    expect(routesForEventType([route('bad', ['payment_intent.succeeded'])], 'payment_intent.succeeded')).toEqual([]);
  });

  it('the backfill keeps payconfirm’s own listings first and adds the routes’: exact types in groups of 20, one listing per wildcard', () => {
    const own = backfillTypeGroups([]);
    const many = Array.from({ length: 23 }, (_, i) => `thing.event_${i}`);
    const groups = backfillTypeGroups([route('a', [...many, 'customer.created', 'customer.subscription.updated']), route('b', ['customer.*', 'customer.subscription.*'])]);
    expect(groups.slice(0, own.length)).toEqual(own);
    const added = groups.slice(own.length);
    // customer.created is inside customer.*; customer.subscription.updated is payconfirm's own; customer.subscription.* is inside customer.*.
    expect(added).toEqual([many.slice(0, 20), many.slice(20), ['customer.*']]);
    for (const g of groups) expect(g.length).toBeLessThanOrEqual(20);
    expect(added.map(wildcardGroup)).toEqual([null, null, 'customer.*']);
  });

  it('a routed event nothing built in handles is processed; a failed route makes the event failed, replayable, with the reason', () => {
    const ignored = { status: 'ignored' as const, outcome: 'ignored: event type customer.created is not handled' };
    const forwards = [
      { route: 'a', workflowId: 'a/evt_1', action: 'started' as const },
      { route: 'b', workflowId: 'b/cus_1', action: 'signalled' as const },
    ];
    expect(withRoutedForwards(ignored, [])).toBe(ignored);
    expect(withRoutedForwards(ignored, forwards)).toEqual({ status: 'processed', outcome: 'routed: a → a/evt_1, b → b/cus_1' });
    const builtIn = { status: 'processed' as const, outcome: 'forwarded_to_subscription: sub_1 run r1' };
    expect(withRoutedForwards(builtIn, forwards.slice(1))).toEqual({ status: 'processed', outcome: 'forwarded_to_subscription: sub_1 run r1; routed: b → b/cus_1' });
    expect(withFailedRoutes(builtIn, ['b'], 'route b: no worker polls task queue q')).toEqual({
      status: 'failed',
      outcome: 'forwarded_to_subscription: sub_1 run r1; route_failed: b',
      lastError: 'route b: no worker polls task queue q',
    });
  });

  it('the routed event carries the summary, not the body', async () => {
    const { routedEventOf, routeWorkflowId } = await import('../src/routes/route-forwarder.js');
    const event: StripeEventSummary = {
      id: 'evt_1',
      type: 'customer.subscription.updated',
      created: 1_700_000_000,
      livemode: false,
      apiVersion: '2025-01-01',
      objectId: 'sub_1',
      objectType: 'subscription',
      paymentIntentId: null,
      paymentStatus: null,
    };
    expect(routedEventOf(event, 'billing-sync')).toEqual({
      id: 'evt_1',
      type: 'customer.subscription.updated',
      created: 1_700_000_000,
      livemode: false,
      apiVersion: '2025-01-01',
      objectId: 'sub_1',
      objectType: 'subscription',
      route: 'billing-sync',
    });
    const r = { name: 'billing-sync', events: ['customer.subscription.*'], workflowType: 'w', taskQueue: 'q', signal: 'stripeEvent' };
    expect(routeWorkflowId({ ...r, id: 'per_object' }, event)).toBe('billing-sync/sub_1');
    expect(routeWorkflowId({ ...r, id: 'per_event' }, event)).toBe('billing-sync/evt_1');
  });
});
