import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../src/db/accounts.js';
import { verifyLedger } from '../src/db/ledger-verify.js';
import { claimInboxEventsForDispatch, findInboxEvent } from '../src/db/webhook-inbox.js';
import { startOrAttachPayment } from '../src/temporal/payment-workflow-client.js';
import { PaymentIntentIdKey, StripeEventTypeKey } from '../src/temporal/search-attributes.js';
import { ensureInboxPruneSchedule } from '../src/webhooks/inbox-prune-schedule.js';
import { paymentStateQuery } from '../workflows/payment-messages.js';
import { eventually } from './support/eventually.js';
import type { FakeStripe } from './support/fake-stripe/index.js';
import { moneyFor, newCustomer, newPaymentIntent, type Customer } from './support/payment-fixtures.js';
import {
  chargeRefundedEvent,
  checkoutSessionEvent,
  deliver,
  inboxCount,
  inboxRowReaches,
  paymentIntentEvent,
  signPayload,
  startTestRelay,
  startWebhookStack,
  workflowExists,
  type WebhookStack,
} from './support/stripe-webhooks.js';
import { callApi, TEST_WEBHOOK_SECRET, type TestApi } from './support/test-api.js';
import { createTestContext, stripeClientFor, type TestContext } from './support/test-context.js';

let ctx: TestContext;
let stack: WebhookStack;
let fake: FakeStripe;
let api: TestApi;
const stripe = () => stripeClientFor(fake.url);

beforeAll(async () => {
  ctx = await createTestContext('webhooks');
  stack = await startWebhookStack(ctx);
  ({ fake, api } = stack);
});
afterAll(async () => {
  await stack?.close();
  await ctx?.close();
});

const confirm = (apiKey: string, pi: string) => callApi(api.url, 'POST', '/billing/confirm_payment', { apiKey, body: { payment_intent_id: pi } });

/** Ledger rows of a PaymentIntent, in the order they were written. */
const ledgerOf = async (pi: string) =>
  (
    await ctx.pool.query<{ kind: string; amount_minor: number; stripe_refund_id: string | null }>(
      'SELECT kind, amount_minor, stripe_refund_id FROM ledger_entries WHERE payment_intent_id = $1 ORDER BY seq',
      [pi],
    )
  ).rows;

const countWorkflows = async (query: string) => (await ctx.client.workflow.count(`TaskQueue = '${ctx.taskQueue}' AND ${query}`)).count;
const inList = (ids: string[]) => `(${ids.map((id) => `'${id}'`).join(', ')})`;

/** Runs `tasks` with at most `limit` in flight. */
async function inParallel<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await tasks[i]!();
      }
    }),
  );
  return results;
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

describe('POST /webhooks/stripe: acknowledged at once, recorded, applied once', () => {
  it('a signed payment_intent.succeeded: 200, inbox row, event workflow evt_… with search attributes, one credit; a redelivery is a duplicate', async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { amount: 4_200 });
    const event = paymentIntentEvent(fake, 'payment_intent.succeeded', pi);

    const first = await deliver(api.url, event, { contentType: 'application/json; charset=utf-8' });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ received: true });

    const row = await inboxRowReaches(ctx.pool, event.id, 'processed');
    expect(row).toMatchObject({ eventType: 'payment_intent.succeeded', paymentIntentId: pi, attempts: 1, lastError: null });
    expect(row!.outcome).toMatch(new RegExp(`^forwarded_to_payment: ${pi}`));
    expect(row!.dispatchedAt).toBeInstanceOf(Date);
    const stored = await ctx.pool.query('SELECT payload, livemode FROM stripe_webhook_events WHERE event_id = $1', [event.id]);
    expect(stored.rows[0]).toEqual({ payload: event, livemode: false });

    const described = await ctx.client.workflow.getHandle(event.id).describe();
    expect(described.type).toBe('stripeEventWorkflow');
    expect(described.typedSearchAttributes.get(StripeEventTypeKey)).toBe('payment_intent.succeeded');
    expect(described.typedSearchAttributes.get(PaymentIntentIdKey)).toBe(pi);

    const money = await eventually(() => moneyFor(ctx, fake, pi, c.customerId), (m) => m.stripeCredits.length === 1 && m.paymentIntent?.metadata.payconfirm_credited === 'true');
    expect(money.ledgerCredits).toEqual([{ id: expect.any(String), amount_minor: 4_200 }]);

    const again = await deliver(api.url, event);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ received: true, duplicate: true });
    expect(await countWorkflows(`WorkflowId = '${event.id}'`)).toBe(1);
    expect((await moneyFor(ctx, fake, pi, c.customerId)).ledgerCredits).toHaveLength(1);
  });

  it('each bad input answers its 4xx with a JSON error and writes nothing: no inbox row, no workflow', async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { amount: 900 });
    const fresh = () => paymentIntentEvent(fake, 'payment_intent.succeeded', pi);
    const now = Math.floor(Date.now() / 1000);
    const withoutKey = (key: string) => {
      const event: Record<string, unknown> = { ...fresh() };
      delete event[key];
      return event;
    };
    const oversized = fake.buildEvent('payment_intent.succeeded', { ...fake.getPaymentIntent(pi)!, description: 'x'.repeat(300 * 1024) });
    const tamperedEvent = fresh();
    const tamperedSignature = signPayload(JSON.stringify({ ...tamperedEvent, livemode: true }, null, 2));

    const cases: [string, Promise<Awaited<ReturnType<typeof deliver>>>, number, string][] = [
      ['text/plain body', deliver(api.url, fresh(), { contentType: 'text/plain' }), 415, 'unsupported_media_type'],
      ['form body', deliver(api.url, fresh(), { contentType: 'application/x-www-form-urlencoded' }), 415, 'unsupported_media_type'],
      ['body over WEBHOOK_MAX_BODY_BYTES', deliver(api.url, oversized), 413, 'payload_too_large'],
      ['no Stripe-Signature', deliver(api.url, fresh(), { signature: null }), 400, 'missing_signature'],
      ['signed with an unknown secret', deliver(api.url, fresh(), { secret: 'whsec_someone_else_0000' }), 400, 'invalid_signature'],
      ['unparseable Stripe-Signature', deliver(api.url, fresh(), { signature: 'v1=deadbeef' }), 400, 'invalid_signature'],
      ['body changed after signing', deliver(api.url, tamperedEvent, { signature: tamperedSignature }), 400, 'invalid_signature'],
      ['replayed 301 s after signing', deliver(api.url, fresh(), { timestamp: now - 301 }), 400, 'stale_signature'],
      ['validly signed, not JSON', deliver(api.url, '{"id": "evt_notjson", "type": '), 400, 'invalid_json'],
      ['no id', deliver(api.url, withoutKey('id')), 400, 'invalid_event'],
      ['no type', deliver(api.url, withoutKey('type')), 400, 'invalid_event'],
      ['id not evt_…', deliver(api.url, { ...fresh(), id: 'ch_1234' }), 400, 'invalid_event'],
      ['no data.object', deliver(api.url, { ...fresh(), data: {} }), 400, 'invalid_event'],
      ['payment_intent.* about a charge', deliver(api.url, fake.buildEvent('payment_intent.succeeded', { id: 'ch_1', object: 'charge' })), 400, 'invalid_event'],
    ];
    const rowsBefore = await inboxCount(ctx.pool);
    for (const [what, answer, status, code] of cases) {
      const res = await answer;
      expect({ what, status: res.status, code: res.body?.error?.code }).toEqual({ what, status, code });
      expect(res.body.error).toEqual({ code, message: expect.any(String), request_id: expect.any(String) });
      expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts:\d+|whsec_|v1=[0-9a-f]{64}/);
    }
    expect(await inboxCount(ctx.pool)).toBe(rowsBefore);
    expect(await inboxCount(ctx.pool, 'payment_intent_id = $1', [pi])).toBe(0);
    expect(await workflowExists(ctx.client, tamperedEvent.id)).toBe(false);
    expect(await workflowExists(ctx.client, pi)).toBe(false);
    expect((await moneyFor(ctx, fake, pi, c.customerId)).ledgerCredits).toHaveLength(0);

    // A signature 299 s old is still inside the tolerance.
    const late = fresh();
    expect((await deliver(api.url, late, { timestamp: now - 299 })).status).toBe(200);
    await inboxRowReaches(ctx.pool, late.id, 'processed');
  });

  it('rotation: any configured secret verifies, a header may carry several v1 signatures, a retired secret does not', async () => {
    const previous = api.deps.settings.webhookSecrets;
    const NEW_SECRET = 'whsec_rotated_new_0123456789';
    const RETIRED = 'whsec_retired_0123456789';
    api.deps.settings.webhookSecrets = [NEW_SECRET, TEST_WEBHOOK_SECRET];
    try {
      const c = await newCustomer(ctx, fake);
      const ev = () => paymentIntentEvent(fake, 'payment_intent.payment_failed', newPaymentIntent(fake, c.customerId, { status: 'requires_payment_method' }));
      expect((await deliver(api.url, ev(), { secret: NEW_SECRET })).status).toBe(200);
      expect((await deliver(api.url, ev(), { secret: TEST_WEBHOOK_SECRET })).status).toBe(200);
      // Stripe signs with both the old and the new secret while a rotation is under way.
      const both = ev();
      const payload = JSON.stringify(both);
      const t = Math.floor(Date.now() / 1000);
      const v1 = (secret: string) => signPayload(payload, { secret, timestamp: t }).split(',')[1]!;
      expect((await deliver(api.url, payload, { signature: `t=${t},${v1(RETIRED)},${v1(NEW_SECRET)}` })).status).toBe(200);
      const retired = ev();
      const refused = await deliver(api.url, retired, { secret: RETIRED });
      expect(refused.status).toBe(400);
      expect(refused.body.error.code).toBe('invalid_signature');
      expect(await findInboxEvent(ctx.pool, retired.id)).toBeNull();
      // A stale delivery stays stale whichever secret matches.
      expect((await deliver(api.url, ev(), { secret: NEW_SECRET, timestamp: t - 600 })).body.error.code).toBe('stale_signature');
      await inboxRowReaches(ctx.pool, both.id, 'ignored');
    } finally {
      api.deps.settings.webhookSecrets = previous;
    }
  });

  it('1,000 deliveries of 100 events, shuffled, 20% sent at once with their twin: 100 workflows, 100 credits, 100 Stripe credits, all 200', async () => {
    const customers: Customer[] = await Promise.all(Array.from({ length: 10 }, () => newCustomer(ctx, fake)));
    const pis = Array.from({ length: 100 }, (_, i) => newPaymentIntent(fake, customers[i % 10]!.customerId, { amount: 1_000 + i }));
    const events = pis.map((pi) => paymentIntentEvent(fake, 'payment_intent.succeeded', pi));
    // Per event: 10 deliveries = one concurrent twin pair + 8 single deliveries. Stripe signs each delivery anew.
    type Unit = () => Promise<{ status: number; duplicate: boolean }[]>;
    const once = (event: object) => async () => {
      const res = await deliver(api.url, event);
      return { status: res.status, duplicate: res.body?.duplicate === true };
    };
    const units: Unit[] = shuffle(
      events.flatMap((event) => [
        () => Promise.all([once(event)(), once(event)()]),
        ...Array.from({ length: 8 }, (): Unit => async () => [await once(event)()]),
      ]),
    );
    const answers = (await inParallel(units, 16)).flat();

    expect(answers).toHaveLength(1_000);
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    expect(answers.filter((a) => !a.duplicate)).toHaveLength(100);

    await eventually(
      () => inboxCount(ctx.pool, `status = 'processed' AND event_id = ANY($1)`, [events.map((e) => e.id)]),
      (n) => n === 100,
      { timeoutMs: 60_000, description: '100 inbox rows processed' },
    );
    const credits = await eventually(
      async () => (await ctx.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ledger_entries WHERE kind = 'payment_credit' AND payment_intent_id = ANY($1)`, [pis])).rows[0]!.n,
      (n) => n === 100,
      { timeoutMs: 60_000, description: '100 ledger credits' },
    );
    expect(credits).toBe(100);
    const stripeCredits = () => customers.flatMap((c) => fake.balanceTransactions(c.customerId));
    await eventually(async () => stripeCredits().length, (n) => n >= 100, { timeoutMs: 60_000, description: '100 Stripe balance transactions' });
    expect(new Set(stripeCredits().map((t) => t.metadata.payment_intent)).size).toBe(100);
    expect(stripeCredits()).toHaveLength(100);

    const eventWorkflows = await eventually(() => countWorkflows(`WorkflowType = 'stripeEventWorkflow' AND PaymentIntentId IN ${inList(pis)}`), (n) => n >= 100);
    expect(eventWorkflows).toBe(100);
    const paymentRuns = await eventually(() => countWorkflows(`WorkflowType = 'paymentWorkflow' AND PaymentIntentId IN ${inList(pis)}`), (n) => n >= 100);
    expect(paymentRuns).toBe(100);
    expect(await inboxCount(ctx.pool, 'event_id = ANY($1) AND attempts <> 1', [events.map((e) => e.id)])).toBe(0);
  });

  it('a webhook and 10 concurrent confirm requests for one PaymentIntent, in either order: one credit, one Stripe credit', async () => {
    for (const order of ['webhook first', 'confirms first'] as const) {
      const c = await newCustomer(ctx, fake);
      const pi = newPaymentIntent(fake, c.customerId, { amount: 6_100 });
      const event = paymentIntentEvent(fake, 'payment_intent.succeeded', pi);
      let webhook: Promise<Awaited<ReturnType<typeof deliver>>>;
      let confirms: Promise<Awaited<ReturnType<typeof confirm>>>[];
      if (order === 'webhook first') {
        webhook = deliver(api.url, event);
        confirms = Array.from({ length: 10 }, () => confirm(c.apiKey, pi));
      } else {
        confirms = Array.from({ length: 10 }, () => confirm(c.apiKey, pi));
        webhook = deliver(api.url, event);
      }
      const [hook, answers] = await Promise.all([webhook, Promise.all(confirms)]);

      expect(hook.status).toBe(200);
      expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
      expect(new Set(answers.map((a) => a.body.ledger_entry_id)).size).toBe(1);
      await inboxRowReaches(ctx.pool, event.id, 'processed');
      const money = await eventually(() => moneyFor(ctx, fake, pi, c.customerId), (m) => m.paymentIntent?.metadata.payconfirm_credited === 'true');
      expect({ order, credits: money.ledgerCredits.length, stripeCredits: money.stripeCredits.length }).toEqual({ order, credits: 1, stripeCredits: 1 });
      expect(money.ledgerCredits[0]!.id).toBe(answers[0]!.body.ledger_entry_id);
    }
  });

  it('refunds after the credit: each partial refund is one debit keyed by its refund id; a redelivery changes nothing', async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { amount: 10_000 });
    const paid = paymentIntentEvent(fake, 'payment_intent.succeeded', pi);
    await deliver(api.url, paid);
    await inboxRowReaches(ctx.pool, paid.id, 'processed');
    await eventually(() => ledgerOf(pi), (rows) => rows.length === 1);

    const r1 = fake.refundPaymentIntent(pi, 3_000);
    const refunded1 = await chargeRefundedEvent(fake, stripe(), pi);
    expect((await deliver(api.url, refunded1)).status).toBe(200);
    await eventually(() => ledgerOf(pi), (rows) => rows.length === 2, { description: 'first refund debited' });

    const r2 = fake.refundPaymentIntent(pi, 2_000);
    const refunded2 = await chargeRefundedEvent(fake, stripe(), pi);
    await deliver(api.url, refunded2);
    expect((await deliver(api.url, refunded1)).body).toEqual({ received: true, duplicate: true });
    const rows = await eventually(() => ledgerOf(pi), (rows) => rows.length === 3, { description: 'second refund debited' });
    await inboxRowReaches(ctx.pool, refunded2.id, 'processed');

    expect(rows).toEqual([
      { kind: 'payment_credit', amount_minor: 10_000, stripe_refund_id: null },
      { kind: 'refund_debit', amount_minor: -3_000, stripe_refund_id: r1.id },
      { kind: 'refund_debit', amount_minor: -2_000, stripe_refund_id: r2.id },
    ]);
    const balance = await callApi(api.url, 'GET', '/accounts/me/balance', { apiKey: c.apiKey });
    expect(balance.body.balances).toEqual([{ currency: 'usd', amount_minor: 5_000, held_minor: 0, available_minor: 5_000 }]);
  });

  it('a refund event before its payment was credited: the credit comes first, then the debit, once each', async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { amount: 8_000 });
    const refund = fake.refundPaymentIntent(pi, 2_500);
    const refunded = await chargeRefundedEvent(fake, stripe(), pi);
    const paid = paymentIntentEvent(fake, 'payment_intent.succeeded', pi);

    expect((await deliver(api.url, refunded)).status).toBe(200);
    await inboxRowReaches(ctx.pool, refunded.id, 'processed');
    expect((await deliver(api.url, paid)).status).toBe(200);
    await inboxRowReaches(ctx.pool, paid.id, 'processed');

    const rows = await eventually(() => ledgerOf(pi), (rows) => rows.length === 2);
    expect(rows).toEqual([
      { kind: 'payment_credit', amount_minor: 8_000, stripe_refund_id: null },
      { kind: 'refund_debit', amount_minor: -2_500, stripe_refund_id: refund.id },
    ]);
    // Every payment run has finished: nothing more will be written.
    await eventually(() => countWorkflows(`WorkflowType = 'paymentWorkflow' AND PaymentIntentId = '${pi}' AND ExecutionStatus = 'Running'`), (n) => n === 0);
    expect(await ledgerOf(pi)).toHaveLength(2);
    // The Stripe customer balance follows the refund too: a credit and its debit, one transaction each.
    expect((await moneyFor(ctx, fake, pi, c.customerId)).stripeCredits.map((t) => [t.amount, t.metadata.payconfirm_movement])).toEqual([
      [-8_000, `stripe:payment_intent:${pi}`],
      [2_500, `stripe:refund:${refund.id}`],
    ]);
    expect(fake.getCustomer(c.customerId)?.balance).toBe(-5_500);
  });

  it('checkout sessions: completed and paid credits; completed unpaid is ignored until async_payment_succeeded', async () => {
    const c = await newCustomer(ctx, fake);
    const paidPi = newPaymentIntent(fake, c.customerId, { amount: 1_500 });
    const completedPaid = checkoutSessionEvent(fake, 'checkout.session.completed', paidPi, 'paid');
    await deliver(api.url, completedPaid);
    expect((await inboxRowReaches(ctx.pool, completedPaid.id, 'processed'))!.paymentIntentId).toBe(paidPi);

    const laterPi = newPaymentIntent(fake, c.customerId, { amount: 2_500, status: 'processing' });
    const completedUnpaid = checkoutSessionEvent(fake, 'checkout.session.completed', laterPi, 'unpaid');
    await deliver(api.url, completedUnpaid);
    expect((await inboxRowReaches(ctx.pool, completedUnpaid.id, 'ignored'))!.outcome).toBe('ignored: checkout session completed with payment_status unpaid');
    expect(await workflowExists(ctx.client, laterPi)).toBe(false);

    fake.setPaymentIntentStatus(laterPi, 'succeeded');
    const asyncSucceeded = checkoutSessionEvent(fake, 'checkout.session.async_payment_succeeded', laterPi, 'paid');
    await deliver(api.url, asyncSucceeded);
    await inboxRowReaches(ctx.pool, asyncSucceeded.id, 'processed');

    const credits = await eventually(async () => [...(await ledgerOf(paidPi)), ...(await ledgerOf(laterPi))], (rows) => rows.length === 2);
    expect(credits.map((r) => r.amount_minor).sort()).toEqual([1_500, 2_500]);
  });

  it('processing/failed events inform a waiting payment workflow; with none running, or of an unhandled type, they are recorded as ignored', async () => {
    const c = await newCustomer(ctx, fake);
    const waiting = newPaymentIntent(fake, c.customerId, { amount: 3_300, status: 'processing' });
    const handle = await startOrAttachPayment(api.deps.payments, waiting, 'test: waits for payment');
    await eventually(() => handle.query(paymentStateQuery), (s) => s.stage === 'awaiting_payment');
    const processing = paymentIntentEvent(fake, 'payment_intent.processing', waiting);
    await deliver(api.url, processing);
    expect((await inboxRowReaches(ctx.pool, processing.id, 'processed'))!.outcome).toBe(`informed_payment: ${waiting}`);
    fake.setPaymentIntentStatus(waiting, 'succeeded');
    const succeeded = paymentIntentEvent(fake, 'payment_intent.succeeded', waiting);
    await deliver(api.url, succeeded);
    expect(await handle.result()).toMatchObject({ status: 'credited', amountMinor: 3_300 });
    // The processing re-check may credit before the event is handed on; then the event starts a run of its own,
    // which converges at once. Once every run has finished, a later nudge finds nobody waiting and starts nothing.
    await inboxRowReaches(ctx.pool, succeeded.id, 'processed');
    await eventually(() => countWorkflows(`WorkflowId = '${waiting}' AND ExecutionStatus = 'Running'`), (n) => n === 0, { description: 'every run finished' });
    const runsBefore = await countWorkflows(`WorkflowId = '${waiting}'`);
    const late = paymentIntentEvent(fake, 'payment_intent.canceled', waiting);
    await deliver(api.url, late);
    expect((await inboxRowReaches(ctx.pool, late.id, 'ignored'))!.outcome).toBe(`no_payment_workflow: no payment workflow runs for ${waiting}`);
    expect(await countWorkflows(`WorkflowId = '${waiting}'`)).toBe(runsBefore);
    expect((await ledgerOf(waiting)).filter((r) => r.kind === 'payment_credit')).toHaveLength(1);

    const nobody = newPaymentIntent(fake, c.customerId, { status: 'requires_payment_method' });
    const failed = paymentIntentEvent(fake, 'payment_intent.payment_failed', nobody);
    await deliver(api.url, failed);
    expect((await inboxRowReaches(ctx.pool, failed.id, 'ignored'))!.outcome).toBe(`no_payment_workflow: no payment workflow runs for ${nobody}`);
    expect(await workflowExists(ctx.client, nobody)).toBe(false);

    const other = fake.buildEvent('customer.created', fake.getCustomer(c.customerId)!);
    await deliver(api.url, other);
    expect((await inboxRowReaches(ctx.pool, other.id, 'ignored'))!.outcome).toBe('ignored: event type customer.created is not handled');
  });

  it('the prune Schedule deletes finished inbox rows and Idempotency-Keys past their retention and keeps the rest; ensuring it again updates it', async () => {
    const old = "now() - interval '40 days'";
    await ctx.pool.query(
      `INSERT INTO stripe_webhook_events (event_id, event_type, livemode, payload, status, received_at) VALUES
       ('evt_prune_old_processed', 'payment_intent.succeeded', false, '{}', 'processed', ${old}),
       ('evt_prune_old_ignored', 'customer.created', false, '{}', 'ignored', ${old}),
       ('evt_prune_old_failed', 'charge.refunded', false, '{}', 'failed', ${old}),
       ('evt_prune_recent_processed', 'payment_intent.succeeded', false, '{}', 'processed', now() - interval '5 days')`,
    );
    // API Idempotency-Keys: one past its retention, one not.
    const { account } = await createAccount(ctx.pool, { stripeCustomerId: `cus_prune${Date.now()}` });
    await ctx.pool.query(
      `INSERT INTO idempotency_keys (account_id, idempotency_key, request_method, request_path, request_hash, response_status, response_body, expires_at) VALUES
       ($1, 'expired-key', 'POST', '/accounts/me/debits', '\\x00', 201, '{}', now() - interval '1 hour'),
       ($1, 'live-key', 'POST', '/accounts/me/debits', '\\x00', 201, '{}', now() + interval '1 hour')`,
      [account.id],
    );
    const scheduleId = await ensureInboxPruneSchedule(ctx.client, ctx.taskQueue, 60);
    const handle = ctx.client.schedule.getHandle(scheduleId);
    try {
      expect(await ensureInboxPruneSchedule(ctx.client, ctx.taskQueue, 30)).toBe(scheduleId);
      const described = await handle.describe();
      expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: 'webhookInboxPruneWorkflow', args: [{ retentionDays: 30 }] });
      await handle.trigger();
      await eventually(() => inboxCount(ctx.pool, "event_id LIKE 'evt_prune_%'"), (n) => n === 2, { description: 'old finished rows pruned' });
      const left = await ctx.pool.query(`SELECT event_id FROM stripe_webhook_events WHERE event_id LIKE 'evt_prune_%' ORDER BY 1`);
      expect(left.rows.map((r) => r.event_id)).toEqual(['evt_prune_old_failed', 'evt_prune_recent_processed']);
      const keys = await eventually(
        async () => (await ctx.pool.query('SELECT idempotency_key FROM idempotency_keys WHERE account_id = $1 ORDER BY 1', [account.id])).rows,
        (rows) => rows.length === 1,
        { description: 'expired Idempotency-Key pruned' },
      );
      expect(keys).toEqual([{ idempotency_key: 'live-key' }]);
    } finally {
      await handle.delete();
    }
  });

  it('a crash between the inbox insert and the workflow start loses nothing: the row waits, a later relay starts it once', async () => {
    await stack.relay.stop(); // the API keeps answering; nothing starts workflows
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { amount: 700 });
    const event = paymentIntentEvent(fake, 'payment_intent.succeeded', pi);
    expect((await deliver(api.url, event)).status).toBe(200);
    expect(await findInboxEvent(ctx.pool, event.id)).toMatchObject({ status: 'received', attempts: 0 });
    expect(await workflowExists(ctx.client, event.id)).toBe(false);

    // A relay claims it and dies before starting anything: its claim expires, another relay takes the row.
    expect((await claimInboxEventsForDispatch(ctx.pool, 10, 1)).map((r) => r.eventId)).toEqual([event.id]);
    stack.relay = startTestRelay(ctx, api);
    const row = await inboxRowReaches(ctx.pool, event.id, 'processed');
    expect(row!.attempts).toBe(2);
    await eventually(() => moneyFor(ctx, fake, pi, c.customerId), (m) => m.ledgerCredits.length === 1);
    expect(await countWorkflows(`WorkflowId = '${event.id}'`)).toBe(1);
  });

  it('payment events are dispatched before a backlog of other types received earlier', async () => {
    await stack.relay.stop();
    const c = await newCustomer(ctx, fake);
    const backlog = Array.from({ length: 5 }, (_, i) => ({ id: `evt_backlogUpdate${i}_${Date.now()}`, object: 'event', type: 'customer.updated', created: 1_700_000_000, livemode: false, api_version: null, data: { object: { id: c.customerId, object: 'customer' } } }));
    for (const body of backlog) expect((await deliver(api.url, body)).status).toBe(200);
    const pi = newPaymentIntent(fake, c.customerId, { amount: 900 });
    const payment = paymentIntentEvent(fake, 'payment_intent.succeeded', pi);
    expect((await deliver(api.url, payment)).status).toBe(200);

    const [first] = await claimInboxEventsForDispatch(ctx.pool, 1, 1);
    expect(first?.eventId).toBe(payment.id);
    await ctx.pool.query('UPDATE stripe_webhook_events SET dispatch_lease_until = NULL WHERE event_id = $1', [payment.id]);
    stack.relay = startTestRelay(ctx, api);
    await inboxRowReaches(ctx.pool, payment.id, 'processed');
    for (const body of backlog) await inboxRowReaches(ctx.pool, body.id, 'ignored');
  });

  it('leaves the ledger consistent (invariants 1 and 2)', async () => {
    expect(await verifyLedger(ctx.pool)).toMatchObject({ ok: true });
  });
});
