import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSubscriptionActivities } from '../activities/subscription-activities.js';
import { createAccount } from '../src/db/accounts.js';
import { eventTypeGroups, HANDLED_EVENT_TYPES, routeStripeEvent, SUBSCRIPTION_EVENT_TYPES, summariseStripeEvent } from '../src/domain/stripe-events.js';
import { findSubscription } from '../src/subscriptions/subscription-store.js';
import type { SubscriptionOutcome } from '../workflows/subscription-workflow.js';
import { runPayconfirm, type CliRun } from './support/cli-process.js';
import { eventually } from './support/eventually.js';
import type { EventObject, FakeStripe, SubscriptionItemInit, SubscriptionObject } from './support/fake-stripe/index.js';
import { newCustomer, type Customer } from './support/payment-fixtures.js';
import { deliver, inboxRowReaches, startWebhookStack, subscriptionEvent, type WebhookStack } from './support/stripe-webhooks.js';
import { callApi, type TestApi } from './support/test-api.js';
import { createTestContext, stripeClientFor, type TestContext } from './support/test-context.js';

/**
 * Subscriptions, once and in order (issue 12, item 2): `customer.subscription.*` events wake one workflow per
 * subscription (`sub_…`), which reads the subscription fresh from Stripe and keeps `stripe_subscriptions` — so
 * duplicates change nothing, the order of arrival does not matter, and an event body showing an older state never
 * overwrites a newer one. Every change of state enqueues one `subscription.changed` notification in the same
 * transaction. Real Temporal, real Postgres, payconfirm's real workers, API, relay and CLI; the fake Stripe.
 */

let ctx: TestContext;
let stack: WebhookStack;
let fake: FakeStripe;
let api: TestApi;

beforeAll(async () => {
  ctx = await createTestContext('subscriptions');
  stack = await startWebhookStack(ctx);
  ({ fake, api } = stack);
});
afterAll(async () => {
  await stack?.close();
  await ctx?.close();
});

const iso = (seconds: number | null) => (seconds === null ? null : new Date(seconds * 1000).toISOString());

/** What the row must hold for Stripe's subscription, built from the fake's object field by field. */
function expectedRow(sub: SubscriptionObject, items = sub.items.data) {
  return {
    id: sub.id,
    customer_id: sub.customer,
    status: sub.status,
    currency: sub.currency,
    items: items.map((i) => ({
      id: i.id,
      price_id: i.price.id,
      product_id: i.price.product,
      quantity: i.quantity,
      unit_amount_minor: i.price.unit_amount,
      currency: i.price.currency,
      interval: i.price.recurring.interval,
      interval_count: i.price.recurring.interval_count,
      current_period_start: iso(i.current_period_start),
      current_period_end: iso(i.current_period_end),
    })),
    current_period_start: iso(Math.min(...items.map((i) => i.current_period_start))),
    current_period_end: iso(Math.max(...items.map((i) => i.current_period_end))),
    cancel_at_period_end: sub.cancel_at_period_end,
    cancel_at: iso(sub.cancel_at),
    canceled_at: iso(sub.canceled_at),
    ended_at: iso(sub.ended_at),
    trial_end: iso(sub.trial_end),
    pause_collection: sub.pause_collection ? { behavior: sub.pause_collection.behavior, resumes_at: iso(sub.pause_collection.resumes_at) } : null,
    livemode: false,
    created: iso(sub.created),
  };
}

/** Stripe's subscription now, as the fake holds it. */
const stripeNow = (id: string) => fake.getSubscription(id)!;

const newSubscription = (customerId: string, items: SubscriptionItemInit[] = [{ unitAmount: 1_500, quantity: 2 }], more: { trialDays?: number; currency?: string } = {}) =>
  fake.createSubscription({ customer: customerId, items, ...more });

interface NotificationRow {
  id: string;
  payload: { type: string; timestamp: string; data: Record<string, any> };
}
const notificationsOf = async (sub: string) =>
  (
    await ctx.pool.query<NotificationRow>(
      "SELECT id, payload FROM outgoing_notifications WHERE type = 'subscription.changed' AND payload->'data'->>'subscription_id' = $1 ORDER BY seq",
      [sub],
    )
  ).rows;

const readsOf = (sub: string) => fake.requestsTo('GET', `/v1/subscriptions/${sub}`).length;

/** The runs of the subscription's workflow (newest first), once `count` exist and none is open. */
async function runsSettle(sub: string, count: number): Promise<string[]> {
  const runs = async () => {
    const statuses: string[] = [];
    for await (const run of ctx.client.workflow.list({ query: `WorkflowId = '${sub}'` })) statuses.push(run.status.name);
    return statuses;
  };
  return eventually(runs, (s) => s.length === count && s.every((status) => status === 'COMPLETED'), { description: `${count} completed run(s) of ${sub}` });
}

/** Delivers the event, waits for its inbox row to be processed and the subscription's workflow to settle at `runs` runs. */
async function deliverAndSettle(event: EventObject, sub: string, runs: number): Promise<void> {
  expect((await deliver(api.url, event)).body).toEqual({ received: true });
  const row = await inboxRowReaches(ctx.pool, event.id, 'processed');
  expect(row!.outcome).toMatch(new RegExp(`^forwarded_to_subscription: ${sub} run `));
  await runsSettle(sub, runs);
}

describe('customer.subscription.* events keep stripe_subscriptions from fresh reads, one workflow per subscription', () => {
  let c: Customer;
  beforeAll(async () => {
    c = await newCustomer(ctx, fake);
  });

  it('the same customer.subscription.created delivered twice: one row, one run, one read of Stripe, one notification', async () => {
    const sub = newSubscription(c.customerId, [{ unitAmount: 1_999, quantity: 3 }], { currency: 'eur' });
    const created = subscriptionEvent(fake, 'customer.subscription.created', sub.id);

    await deliverAndSettle(created, sub.id, 1);
    expect(await deliver(api.url, created)).toMatchObject({ status: 200, body: { received: true, duplicate: true } });

    const result: SubscriptionOutcome = await ctx.client.workflow.getHandle(sub.id).result();
    expect(result).toEqual({ status: 'synced', subscriptionId: sub.id, subscriptionStatus: 'active', version: 1, passes: 1, changes: 1 });
    const described = await ctx.client.workflow.getHandle(sub.id).describe();
    expect(described.type).toBe('subscriptionWorkflow');

    const row = await findSubscription(ctx.pool, sub.id);
    expect(row).toMatchObject({ ...expectedRow(stripeNow(sub.id)), account_id: c.accountId, version: 1, last_event_id: created.id });
    expect(row!.items).toEqual([expect.objectContaining({ quantity: 3, unit_amount_minor: 1_999, currency: 'eur' })]);
    expect((await ctx.pool.query('SELECT count(*)::int AS n FROM stripe_subscriptions WHERE id = $1', [sub.id])).rows[0].n).toBe(1);
    expect(readsOf(sub.id)).toBe(1);

    const notifications = await notificationsOf(sub.id);
    expect(notifications).toHaveLength(1);
    expect(notifications[0]!.id).toMatch(new RegExp(`^stripe:subscription:${sub.id}:v1:[0-9a-f]{16}$`));
    expect(notifications[0]!.payload).toMatchObject({
      type: 'subscription.changed',
      data: {
        subscription_id: sub.id,
        version: 1,
        previous_status: null,
        customer_id: c.customerId,
        account_id: c.accountId,
        status: 'active',
        currency: 'eur',
        items: [{ quantity: 3, unit_amount_minor: 1_999, currency: 'eur', interval: 'month', interval_count: 1 }],
        stripe_event_id: created.id,
      },
    });
    // Redelivered after it was processed: still a duplicate at the inbox; nothing read, written or sent again.
    expect((await deliver(api.url, created)).body).toEqual({ received: true, duplicate: true });
    expect(readsOf(sub.id)).toBe(1);
    expect(await notificationsOf(sub.id)).toHaveLength(1);
    expect(await runsSettle(sub.id, 1)).toEqual(['COMPLETED']);
  });

  it('updated delivered before created: the row equals Stripe\'s current subscription; the late created (and a trial_will_end) change nothing', async () => {
    const sub = newSubscription(c.customerId, [{ unitAmount: 900, quantity: 1 }], { trialDays: 14 });
    const created = subscriptionEvent(fake, 'customer.subscription.created', sub.id); // body: trialing, quantity 1
    fake.updateSubscription(sub.id, { quantity: 4, status: 'active' });
    const updated = subscriptionEvent(fake, 'customer.subscription.updated', sub.id);

    await deliverAndSettle(updated, sub.id, 1);
    expect(await findSubscription(ctx.pool, sub.id)).toMatchObject({ ...expectedRow(stripeNow(sub.id)), status: 'active', version: 1 });

    await deliverAndSettle(created, sub.id, 2); // its body still says trialing, quantity 1
    const trial = subscriptionEvent(fake, 'customer.subscription.trial_will_end', sub.id);
    await deliverAndSettle(trial, sub.id, 3);

    const row = await findSubscription(ctx.pool, sub.id);
    expect(row).toMatchObject({ ...expectedRow(stripeNow(sub.id)), version: 1, last_event_id: trial.id });
    expect(row!.items[0]!.quantity).toBe(4);
    expect(readsOf(sub.id)).toBe(3); // every wake reads Stripe…
    expect(await notificationsOf(sub.id)).toHaveLength(1); // …and only a change of state notifies
  });

  it('an old updated (its body an older state) after a newer one: the row stays Stripe\'s current; each real change notifies once', async () => {
    const sub = newSubscription(c.customerId, [{ unitAmount: 2_500, quantity: 1 }]);
    fake.updateSubscription(sub.id, { quantity: 2 });
    const older = subscriptionEvent(fake, 'customer.subscription.updated', sub.id);
    fake.updateSubscription(sub.id, { quantity: 5, cancelAtPeriodEnd: true });
    const newer = subscriptionEvent(fake, 'customer.subscription.updated', sub.id);
    expect((older.data.object as SubscriptionObject).items.data[0]!.quantity).toBe(2);

    await deliverAndSettle(newer, sub.id, 1);
    const current = expectedRow(stripeNow(sub.id));
    expect(await findSubscription(ctx.pool, sub.id)).toMatchObject({ ...current, cancel_at_period_end: true, version: 1 });

    await deliverAndSettle(older, sub.id, 2);
    const row = await findSubscription(ctx.pool, sub.id);
    expect(row).toMatchObject({ ...current, version: 1 });
    expect(row!.items[0]!.quantity).toBe(5);
    expect(await notificationsOf(sub.id)).toHaveLength(1);

    // A real change: one more version, one more notification, carrying the status it left.
    fake.updateSubscription(sub.id, { status: 'past_due' });
    fake.renewSubscription(sub.id);
    await deliverAndSettle(subscriptionEvent(fake, 'customer.subscription.updated', sub.id), sub.id, 3);
    expect(await findSubscription(ctx.pool, sub.id)).toMatchObject({ ...expectedRow(stripeNow(sub.id)), status: 'past_due', version: 2 });
    const notifications = await notificationsOf(sub.id);
    expect(notifications.map((n) => [n.payload.data.version, n.payload.data.previous_status, n.payload.data.status])).toEqual([
      [1, null, 'active'],
      [2, 'active', 'past_due'],
    ]);
    expect(notifications[1]!.id).toMatch(new RegExp(`^stripe:subscription:${sub.id}:v2:`));
    expect(notifications[1]!.payload.data.current_period_end).toBe(expectedRow(stripeNow(sub.id)).current_period_end);
  });

  it('deleted: the row is canceled (canceled_at, ended_at from Stripe), with its notification', async () => {
    const sub = newSubscription(c.customerId);
    await deliverAndSettle(subscriptionEvent(fake, 'customer.subscription.created', sub.id), sub.id, 1);
    fake.cancelSubscription(sub.id);
    const deleted = subscriptionEvent(fake, 'customer.subscription.deleted', sub.id);
    await deliverAndSettle(deleted, sub.id, 2);

    const canceled = stripeNow(sub.id);
    expect(canceled.status).toBe('canceled');
    const row = await findSubscription(ctx.pool, sub.id);
    expect(row).toMatchObject({ ...expectedRow(canceled), status: 'canceled', version: 2, last_event_id: deleted.id });
    expect(row!.canceled_at).not.toBeNull();
    expect(row!.ended_at).not.toBeNull();
    expect((await notificationsOf(sub.id)).map((n) => [n.payload.data.previous_status, n.payload.data.status])).toEqual([
      [null, 'active'],
      ['active', 'canceled'],
    ]);
  });

  it('a burst of events about one subscription, all at once: one workflow id, at most one read per event, the row equals Stripe, one notification per state', async () => {
    const sub = newSubscription(c.customerId);
    const events = [
      subscriptionEvent(fake, 'customer.subscription.created', sub.id),
      ...Array.from({ length: 5 }, () => subscriptionEvent(fake, 'customer.subscription.updated', sub.id)),
    ];
    const answers = await Promise.all(events.map((e) => deliver(api.url, e)));
    expect(answers.map((a) => a.status)).toEqual(events.map(() => 200));
    for (const e of events) await inboxRowReaches(ctx.pool, e.id, 'processed');
    await eventually(
      async () => {
        const runs: string[] = [];
        for await (const run of ctx.client.workflow.list({ query: `WorkflowId = '${sub.id}'` })) runs.push(run.status.name);
        return runs;
      },
      (runs) => runs.length >= 1 && runs.every((s) => s === 'COMPLETED'),
      { description: 'every run completed' },
    );
    expect(readsOf(sub.id)).toBeGreaterThanOrEqual(1);
    expect(readsOf(sub.id)).toBeLessThanOrEqual(events.length);
    expect(await findSubscription(ctx.pool, sub.id)).toMatchObject({ ...expectedRow(stripeNow(sub.id)), version: 1 });
    expect(await notificationsOf(sub.id)).toHaveLength(1);
  });

  it('a subscription with more than 10 items (Stripe embeds 10): the rest are listed, the row holds all', async () => {
    const sub = newSubscription(
      c.customerId,
      Array.from({ length: 12 }, (_, i) => ({ unitAmount: 100 + i, quantity: i + 1 })),
    );
    expect(sub.items.has_more).toBe(true);
    await deliverAndSettle(subscriptionEvent(fake, 'customer.subscription.created', sub.id), sub.id, 1);
    const all: Stripe.SubscriptionItem[] = [];
    for await (const item of stripeClientFor(fake.url).subscriptionItems.list({ subscription: sub.id })) all.push(item);
    expect(all).toHaveLength(12);
    const row = await findSubscription(ctx.pool, sub.id);
    expect(row).toMatchObject(expectedRow(stripeNow(sub.id), all as unknown as SubscriptionObject['items']['data']));
    expect(row!.items.map((i) => i.unit_amount_minor)).toEqual(Array.from({ length: 12 }, (_, i) => 100 + i));
    expect(fake.requestsTo('GET', '/v1/subscription_items').filter((r) => r.query.subscription === sub.id).length).toBeGreaterThanOrEqual(1);
  });

  it('a subscription Stripe does not know (404): nothing written, the run ends not_found', async () => {
    const unknown = { ...newSubscription(c.customerId), id: 'sub_UnknownToStripe0001' };
    const event = fake.recordEvent('customer.subscription.updated', unknown);
    await deliverAndSettle(event, unknown.id, 1);
    expect(await ctx.client.workflow.getHandle(unknown.id).result()).toEqual({ status: 'not_found', subscriptionId: unknown.id, passes: 1 });
    expect(await findSubscription(ctx.pool, unknown.id)).toBeNull();
    expect(await notificationsOf(unknown.id)).toEqual([]);
  });
});

describe('an older read never overwrites a newer one (the read ticket)', () => {
  it('an attempt whose Stripe answer comes back late (after a retry wrote a newer read) writes nothing', async () => {
    const c = await newCustomer(ctx, fake);
    const sub = newSubscription(c.customerId, [{ unitAmount: 700, quantity: 1 }]);
    // The activity as the worker runs it, with a client that waits for the held answer.
    const activities = createSubscriptionActivities({ stripe: stripeClientFor(fake.url, 'sk_test_fake', 30_000), pool: ctx.pool });
    const late = fake.faults.add({ kind: 'timeout', applied: true, method: 'GET', path: `/v1/subscriptions/${sub.id}` });
    try {
      // The first attempt takes its ticket and reads quantity 1; its answer is held.
      const first = activities.syncSubscription({ subscriptionId: sub.id, lastEventId: null });
      await eventually(async () => late.held, (held) => held === 1, { description: 'the first read is held' });
      // Meanwhile the subscription changes, and a retry reads and writes the newer state.
      fake.updateSubscription(sub.id, { quantity: 8 });
      expect(await activities.syncSubscription({ subscriptionId: sub.id, lastEventId: null })).toMatchObject({ kind: 'synced', write: 'created', version: 1 });
      late.release();
      expect(await first).toMatchObject({ kind: 'synced', write: 'stale', version: 1, notificationId: null });
    } finally {
      late.remove();
    }
    const row = await findSubscription(ctx.pool, sub.id);
    expect(row).toMatchObject({ ...expectedRow(stripeNow(sub.id)), version: 1 });
    expect(row!.items[0]!.quantity).toBe(8);
    expect(await notificationsOf(sub.id)).toHaveLength(1);
    // A later read of the same state records the read, and nothing else.
    expect(await activities.syncSubscription({ subscriptionId: sub.id, lastEventId: 'evt_Later0001' })).toMatchObject({ write: 'unchanged', version: 1 });
    expect(await findSubscription(ctx.pool, sub.id)).toMatchObject({ version: 1, last_event_id: 'evt_Later0001' });
    expect(await notificationsOf(sub.id)).toHaveLength(1);
  });
});

describe('who sees a subscription: the account linked to its customer', () => {
  let c: Customer;
  let other: Customer;
  let subs: SubscriptionObject[];
  beforeAll(async () => {
    c = await newCustomer(ctx, fake);
    other = await newCustomer(ctx, fake);
    subs = [];
    for (const unitAmount of [1_000, 2_000]) {
      const sub = newSubscription(c.customerId, [{ unitAmount, quantity: 1 }], { currency: 'gbp' });
      await deliverAndSettle(subscriptionEvent(fake, 'customer.subscription.created', sub.id), sub.id, 1);
      subs.push(sub);
    }
  });

  it('GET /accounts/me/subscriptions: the caller\'s subscriptions (money as minor units + currency), paged; nobody else\'s', async () => {
    const mine = await callApi(api.url, 'GET', '/accounts/me/subscriptions', { apiKey: c.apiKey });
    expect(mine.status).toBe(200);
    expect(mine.body.account_id).toBe(c.accountId);
    expect(mine.body.next_cursor).toBeNull();
    expect(mine.body.subscriptions.map((s: { id: string }) => s.id).sort()).toEqual(subs.map((s) => s.id).sort());
    for (const s of mine.body.subscriptions) {
      expect(s).toMatchObject({ ...expectedRow(stripeNow(s.id)), account_id: c.accountId, version: 1 });
      expect(s.items[0]).toMatchObject({ quantity: 1, currency: 'gbp', unit_amount_minor: expect.any(Number) });
      expect(Number.isInteger(s.items[0].unit_amount_minor)).toBe(true);
    }

    const first = await callApi(api.url, 'GET', '/accounts/me/subscriptions?limit=1', { apiKey: c.apiKey });
    expect(first.body.subscriptions).toHaveLength(1);
    expect(first.body.next_cursor).toBe(first.body.subscriptions[0].id);
    const second = await callApi(api.url, 'GET', `/accounts/me/subscriptions?limit=1&cursor=${first.body.next_cursor}`, { apiKey: c.apiKey });
    expect(second.body.subscriptions).toHaveLength(1);
    expect(second.body.subscriptions[0].id).not.toBe(first.body.subscriptions[0].id);
    expect(second.body.next_cursor).toBeNull();

    expect((await callApi(api.url, 'GET', '/accounts/me/subscriptions', { apiKey: other.apiKey })).body).toEqual({ account_id: other.accountId, subscriptions: [], next_cursor: null });
    expect((await callApi(api.url, 'GET', '/accounts/me/subscriptions')).status).toBe(401);
    expect((await callApi(api.url, 'GET', '/accounts/me/subscriptions?limit=0', { apiKey: c.apiKey })).status).toBe(400);
    expect((await callApi(api.url, 'GET', '/accounts/me/subscriptions?cursor=nope', { apiKey: c.apiKey })).status).toBe(400);
  });

  it('a customer with no account yet: the row has no account; creating the account links it at once (no event needed)', async () => {
    const customer = fake.createCustomer();
    const sub = newSubscription(customer.id);
    await deliverAndSettle(subscriptionEvent(fake, 'customer.subscription.created', sub.id), sub.id, 1);
    expect(await findSubscription(ctx.pool, sub.id)).toMatchObject({ account_id: null, version: 1 });
    expect((await notificationsOf(sub.id))[0]!.payload.data.account_id).toBeNull();

    const { account, apiKey } = await createAccount(ctx.pool, { stripeCustomerId: customer.id });
    expect(await findSubscription(ctx.pool, sub.id)).toMatchObject({ account_id: account.id, version: 1 });
    const listed = await callApi(api.url, 'GET', '/accounts/me/subscriptions', { apiKey });
    expect(listed.body.subscriptions.map((s: { id: string }) => s.id)).toEqual([sub.id]);
  });

  it('payconfirm subscriptions show sub_… [--json] and list; an unknown id exits 4', async () => {
    const sub = subs[0]!;
    // Each is its own process (from source): run them side by side.
    const [json, text, listed, table, unknown, bad] = await Promise.all([
      payconfirm(['subscriptions', 'show', sub.id, '--json']),
      payconfirm(['subscriptions', 'show', sub.id]),
      payconfirm(['subscriptions', 'list', '--customer', c.customerId, '--json']),
      payconfirm(['subscriptions', 'list', '--account', c.accountId]),
      payconfirm(['subscriptions', 'show', 'sub_NeverSeen0001']),
      payconfirm(['subscriptions', 'show', 'pi_123']),
    ]);
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    expect(json.json).toMatchObject({ ...expectedRow(stripeNow(sub.id)), account_id: c.accountId, version: 1 });

    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`${sub.id}  active  (version 1, test mode)`);
    expect(text.stdout).toContain(`customer   ${c.customerId}; account ${c.accountId}`);
    expect(text.stdout).toMatch(new RegExp(`${sub.items.data[0]!.price.id}.*× 1  at 1000 gbp / 1 month`));

    expect(listed.code).toBe(0);
    expect(listed.json.map((s: { id: string }) => s.id).sort()).toEqual(subs.map((s) => s.id).sort());
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('2 subscription(s).');

    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toContain('no subscription sub_NeverSeen0001');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('is not a Stripe subscription id');
  });

  const payconfirm = (args: string[]): Promise<CliRun> => runPayconfirm(args, { DATABASE_URL: ctx.databaseUrl, DATABASE_SCHEMA: ctx.schema });
});

describe('routing and the backfill\'s types', () => {
  it('every customer.subscription.* type routes to the subscription; one without a sub_… id is ignored; the backfill lists them in groups of ≤ 20', () => {
    const sub = { id: 'sub_Route0001', object: 'subscription' };
    for (const type of SUBSCRIPTION_EVENT_TYPES) {
      const shape = summariseStripeEvent(fake.buildEvent(type, sub));
      expect(shape.ok).toBe(true);
      expect(routeStripeEvent((shape as { ok: true; summary: Parameters<typeof routeStripeEvent>[0] }).summary)).toEqual({ action: 'subscription', subscriptionId: sub.id });
    }
    const odd = summariseStripeEvent(fake.buildEvent('customer.subscription.updated', { id: 'si_NotASub', object: 'subscription_item' }));
    expect(routeStripeEvent((odd as { ok: true; summary: Parameters<typeof routeStripeEvent>[0] }).summary)).toEqual({
      action: 'ignore',
      why: 'customer.subscription.updated names no subscription (sub_…)',
    });
    const groups = eventTypeGroups(HANDLED_EVENT_TYPES);
    expect(groups.flat()).toEqual([...HANDLED_EVENT_TYPES]);
    expect(groups.every((g) => g.length <= 20)).toBe(true);
    expect(HANDLED_EVENT_TYPES).toEqual(expect.arrayContaining([...SUBSCRIPTION_EVENT_TYPES]));
  });
});
