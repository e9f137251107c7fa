import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { adjustBalance } from '../src/db/admin-adjustments.js';
import { appendLedgerEntry, LedgerIdempotencyConflictError } from '../src/db/ledger.js';
import { inTransaction, type Pool, type PoolClient } from '../src/db/pool.js';
import { projectRoot } from '../src/runtime/project-paths.js';
import { createLogger } from '../src/logger.js';
import { createMetrics, type Metrics } from '../src/metrics.js';
import {
  baseRetryDelayMs,
  DEFAULT_NOTIFICATION_RETRY_POLICY,
  describeEndpoint,
  parseRetryAfterMs,
  retryHorizonMs,
  startNotificationDeliverer,
  type NotificationDelivererOptions,
} from '../src/notifications/deliverer.js';
import { enqueueNotification, findNotification, type OutgoingNotification } from '../src/notifications/outbox.js';
import { runPayconfirm } from './support/cli-process.js';
import { eventually } from './support/eventually.js';
import type { EventObject, FakeStripe } from './support/fake-stripe/index.js';
import { newNotificationSecret, startNotificationReceiver, type NotificationReceiver } from './support/notification-receiver.js';
import { paymentSettles } from './support/payment-books.js';
import { newCustomer, newPaymentIntent, type Customer } from './support/payment-fixtures.js';
import { deliver, inboxRowReaches, paymentIntentEvent, startWebhookStack, type WebhookStack } from './support/stripe-webhooks.js';
import { callApi } from './support/test-api.js';
import { createTestContext, uniqueSuffix, type TestContext } from './support/test-context.js';
import { serviceEnv } from './support/worker-process.js';

/**
 * Side effects once per movement: every ledger movement enqueues one outgoing notification in its own transaction
 * (the ledger trigger), and the deliverer POSTs it, signed per Standard Webhooks, at least once with backoff, dead
 * after a limit, replayable from the CLI. The receiver is a real HTTP server verifying with the `standardwebhooks`
 * library; real Postgres, real Temporal, the fake Stripe.
 */
let ctx: TestContext;
let stack: WebhookStack;
let fake: FakeStripe;

beforeAll(async () => {
  ctx = await createTestContext('notify');
  stack = await startWebhookStack(ctx);
  fake = stack.fake;
});
afterAll(async () => {
  await stack?.close();
  await ctx?.close();
});

interface LedgerRow {
  id: string;
  seq: number;
  account_id: string;
  kind: string;
  amount_minor: number;
  currency: string;
  idempotency_key: string;
  payment_intent_id: string | null;
  stripe_refund_id: string | null;
  stripe_dispute_id: string | null;
  reference: string | null;
  metadata: Record<string, string> | null;
  created_at: Date;
}

const ledgerRows = async (where = 'true', params: unknown[] = []): Promise<LedgerRow[]> =>
  (
    await ctx.pool.query<LedgerRow>(
      `SELECT id, seq, account_id, kind, amount_minor, currency, idempotency_key, payment_intent_id, stripe_refund_id, stripe_dispute_id,
              reference, metadata, created_at
       FROM ledger_entries WHERE ${where} ORDER BY seq`,
      params,
    )
  ).rows;

/** The body a movement's notification must carry, built from its ledger row (docs/notifications.md, "Outgoing notifications"). */
const expectedBody = (r: LedgerRow) => ({
  type: 'ledger.movement.created',
  timestamp: r.created_at.toISOString(),
  data: {
    ledger_entry_id: r.id,
    seq: r.seq,
    account_id: r.account_id,
    kind: r.kind,
    amount_minor: r.amount_minor,
    currency: r.currency,
    idempotency_key: r.idempotency_key,
    payment_intent_id: r.payment_intent_id,
    stripe_refund_id: r.stripe_refund_id,
    stripe_dispute_id: r.stripe_dispute_id,
    reference: r.reference,
    metadata: r.metadata,
    created_at: r.created_at.toISOString(),
  },
});

const notificationsOf = async (ids: string[]): Promise<OutgoingNotification[]> =>
  Promise.all(ids.map(async (id) => (await findNotification(ctx.pool, id)) ?? Promise.reject(new Error(`no notification ${id}`))));

const allReach = (ids: string[], status: OutgoingNotification['status'], timeoutMs = 60_000) =>
  eventually(() => notificationsOf(ids), (ns) => ns.every((n) => n.status === status), { timeoutMs, description: `${ids.length} notification(s) ${status}` });

function captureLogs() {
  let text = '';
  const destination = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  return { logger: createLogger({ level: 'debug', name: 'test-notifications', destination }), text: () => text };
}

const counterValue = async (metrics: Metrics, name: string, labels: Record<string, string> = {}): Promise<number> => {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  return (metric?.values ?? [])
    .filter((v) => Object.entries(labels).every(([k, want]) => (v.labels as Record<string, unknown>)[k] === want))
    .reduce((sum, v) => sum + v.value, 0);
};

/** A deliverer on this file's schema with test-sized waits; stopped by the caller. */
const startDeliverer = (receiver: NotificationReceiver, secret: string, opts: Partial<NotificationDelivererOptions> = {}) =>
  startNotificationDeliverer({
    pool: ctx.pool,
    url: receiver.url,
    secret,
    logger: createLogger({ level: 'silent' }),
    timeoutMs: 3_000,
    pollIntervalMs: 50,
    retry: { maxAttempts: 10, initialMs: 50, maxMs: 200, jitter: 0.2 },
    ...opts,
  });

const cli = (args: string[]) => runPayconfirm(['notifications', ...args], { DATABASE_URL: ctx.databaseUrl, DATABASE_SCHEMA: ctx.schema });

/** Delivers each event signed as Stripe does, waits until each was handed on and the payment settled. */
async function deliverAll(pi: string, events: EventObject[]): Promise<void> {
  for (const e of events) expect((await deliver(stack.api.url, e)).status).toBe(200);
  for (const e of events) await inboxRowReaches(ctx.pool, e.id, 'processed');
  await paymentSettles(ctx, pi);
}

describe('one notification per ledger movement, delivered at least once, verified, deduplicated by webhook-id', () => {
  it('a receiver that fails the first 3 attempts of each webhook-id gets every kind of movement once, signed, with the ledger row as body', async () => {
    const secret = newNotificationSecret();
    const receiver = await startNotificationReceiver(secret, (_id, attempt) => (attempt <= 3 ? 500 : 204));
    const logs = captureLogs();
    const metrics = createMetrics();
    const deliverer = startDeliverer(receiver, secret, { logger: logs.logger, metrics });
    try {
      // Every path that writes a movement: the payment workflow (credit, refund debit and reversal, dispute debit and
      // reversal), the API's usage debit, an operator's adjustment.
      const c: Customer = await newCustomer(ctx, fake);
      const pi = newPaymentIntent(fake, c.customerId, { amount: 10_000 });
      await deliverAll(pi, [paymentIntentEvent(fake, 'payment_intent.succeeded', pi)]);
      const refund = fake.refundPaymentIntent(pi, 2_000);
      await deliverAll(pi, [fake.buildEvent('refund.created', fake.getRefund(refund.id)!)]);
      fake.setRefundStatus(refund.id, 'failed');
      await deliverAll(pi, [fake.buildEvent('refund.failed', fake.getRefund(refund.id)!)]);
      const dispute = fake.createDispute(pi);
      await deliverAll(pi, [fake.buildEvent('charge.dispute.funds_withdrawn', fake.getDispute(dispute.id)!)]);
      fake.setDisputeStatus(dispute.id, 'won');
      await deliverAll(pi, [fake.buildEvent('charge.dispute.funds_reinstated', fake.getDispute(dispute.id)!)]);
      const debit = await callApi(stack.api.url, 'POST', '/accounts/me/debits', {
        apiKey: c.apiKey,
        headers: { 'idempotency-key': `debit-${uniqueSuffix()}` },
        body: { amount_minor: 1_500, currency: 'usd', reference: 'march usage', metadata: { invoice: 'inv_42' } },
      });
      expect(debit.status, JSON.stringify(debit.body)).toBe(201);
      await adjustBalance(ctx.pool, { accountId: c.accountId, amountMinor: 700, currency: 'usd', reason: 'goodwill', key: `goodwill-${uniqueSuffix()}` });

      const ledger = await ledgerRows('account_id = $1', [c.accountId]);
      expect(ledger.map((r) => r.kind)).toEqual(['payment_credit', 'refund_debit', 'refund_reversal', 'dispute_debit', 'dispute_reversal', 'usage_debit', 'admin_credit']);
      const ids = ledger.map((r) => r.idempotency_key);
      const delivered = await allReach(ids, 'delivered');

      for (const [i, row] of ledger.entries()) {
        const seen = receiver.requestsFor(row.idempotency_key);
        // Four requests, all with this webhook-id, all verified: three refused, then one accepted — once.
        expect(seen.map((r) => [r.attempt, r.status, r.verified]), row.kind).toEqual([[1, 500, true], [2, 500, true], [3, 500, true], [4, 204, true]]);
        expect(receiver.accepted.get(row.idempotency_key), row.kind).toBe(1);
        // The same body every time, and it is the ledger row; each attempt signs afresh with its own timestamp.
        for (const r of seen) expect(JSON.parse(r.body)).toEqual(expectedBody(row));
        expect(new Set(seen.map((r) => r.body)).size).toBe(1);
        const stamps = seen.map((r) => Number(r.timestamp));
        expect(stamps).toEqual([...stamps].sort((a, b) => a - b));
        expect(delivered[i]).toMatchObject({ status: 'delivered', attempts: 4, lastStatusCode: 204, lastError: null, type: 'ledger.movement.created' });
      }
      // Nothing sent but these movements' notifications (no other row in this account's books).
      expect([...receiver.accepted.keys()].filter((id) => !ids.includes(id))).toEqual([]);
      expect(await counterValue(metrics, 'payconfirm_notifications_delivered_total', { type: 'ledger.movement.created' })).toBe(ids.length);
      expect(await counterValue(metrics, 'payconfirm_notification_attempts_failed_total', { reason: 'http_5xx' })).toBe(3 * ids.length);
      expect(await counterValue(metrics, 'payconfirm_notifications_dead_lettered_total')).toBe(0);
      // The secret never reaches a log line, the failures do.
      expect(logs.text()).toContain('notification not accepted; retrying with backoff');
      expect(logs.text()).not.toContain(secret.slice('whsec_'.length));
    } finally {
      await deliverer.stop();
      await receiver.close();
    }
  });

  it('an endpoint that stays down: rows wait their backoff, then go dead; `notifications replay --status dead` delivers each once', async () => {
    const secret = newNotificationSecret();
    let down = true;
    const receiver = await startNotificationReceiver(secret, () => (down ? 503 : 200));
    const metrics = createMetrics();
    const initialMs = 500;
    const deliverer = startDeliverer(receiver, secret, { metrics, retry: { maxAttempts: 3, initialMs, maxMs: 10_000, jitter: 0.2 } });
    try {
      const c = await newCustomer(ctx, fake);
      const adjust = (amountMinor: number) =>
        adjustBalance(ctx.pool, { accountId: c.accountId, amountMinor, currency: 'eur', reason: 'support', key: `down-${uniqueSuffix()}` });
      const ids = [(await adjust(900)).entry.idempotencyKey, (await adjust(-400)).entry.idempotencyKey];
      // Anything else enqueues the same way, in its own transaction (subscriptions, later).
      const subscriptionId = `subscription:sub_${uniqueSuffix()}:updated`;
      const subscriptionBody = { type: 'subscription.updated', timestamp: new Date().toISOString(), data: { subscription_id: 'sub_1', status: 'active' } };
      expect(await inTransaction(ctx.pool, (tx) => enqueueNotification(tx, { id: subscriptionId, type: 'subscription.updated', payload: subscriptionBody }))).toBe(true);
      ids.push(subscriptionId);

      // Between attempts a row is pending, due later.
      await eventually(
        () => findNotification(ctx.pool, ids[0]!),
        (n) => n?.status === 'pending' && n.attempts >= 1 && n.lastAttemptAt !== null && n.nextAttemptAt > n.lastAttemptAt,
        { intervalMs: 20, description: 'a pending row waiting its backoff' },
      );
      const dead = await allReach(ids, 'dead');
      for (const n of dead) {
        expect(n).toMatchObject({ attempts: 3, lastStatusCode: 503 });
        expect(n.lastError).toBe('HTTP 503: refused attempt 3');
        const seen = receiver.requestsFor(n.id);
        expect(seen.map((r) => [r.status, r.verified])).toEqual([[503, true], [503, true], [503, true]]);
        // The waits grow: ≥ 0.8 × 500 ms, then ≥ 0.8 × 1 s.
        expect(seen[1]!.receivedAtMs - seen[0]!.receivedAtMs).toBeGreaterThanOrEqual(0.8 * initialMs - 20);
        expect(seen[2]!.receivedAtMs - seen[1]!.receivedAtMs).toBeGreaterThanOrEqual(0.8 * 2 * initialMs - 20);
      }
      expect(await counterValue(metrics, 'payconfirm_notifications_dead_lettered_total')).toBe(3);
      expect(receiver.accepted.size).toBe(0);

      const listed = await cli(['list', '--status', 'dead', '--json']);
      expect(listed.code, listed.stderr).toBe(0);
      expect((listed.json as { id: string; status: string }[]).map((n) => n.id).sort()).toEqual([...ids].sort());
      const dryRun = await cli(['replay', '--status', 'dead', '--dry-run']);
      expect(dryRun.code, dryRun.stderr).toBe(0);
      expect(dryRun.stdout).toContain('3 notification(s) would be replayed (dry run: nothing changed)');
      expect((await notificationsOf(ids)).map((n) => n.status)).toEqual(['dead', 'dead', 'dead']);

      down = false;
      const replayed = await cli(['replay', '--status', 'dead', '--json']);
      expect(replayed.code, replayed.stderr).toBe(0);
      expect(replayed.json).toMatchObject({ replayed: 3, skipped: 0 });
      const delivered = await allReach(ids, 'delivered');
      for (const n of delivered) {
        expect(n).toMatchObject({ attempts: 1, replayCount: 1, lastStatusCode: 200 });
        expect(receiver.accepted.get(n.id)).toBe(1);
        expect(receiver.requestsFor(n.id)).toHaveLength(4);
      }
      expect(JSON.parse(receiver.requestsFor(subscriptionId)[3]!.body)).toEqual(subscriptionBody);

      const shown = await cli(['show', ids[0]!, '--json']);
      expect(shown.code, shown.stderr).toBe(0);
      const [adjustment] = await ledgerRows('idempotency_key = $1', [ids[0]]);
      expect(shown.json).toMatchObject({ id: ids[0], status: 'delivered', replay_count: 1, payload: expectedBody(adjustment!) });
      const unknown = await cli(['replay', 'no:such:notification']);
      expect(unknown.code).toBe(4);
      expect(unknown.stdout).toContain('no such notification');
    } finally {
      await deliverer.stop();
      await receiver.close();
    }
  });

  it('Retry-After is honoured; 410 Gone is dead at once', async () => {
    const secret = newNotificationSecret();
    const c = await newCustomer(ctx, fake);
    const slowKey = `admin:adjust:slow-${uniqueSuffix()}`;
    const receiver = await startNotificationReceiver(secret, (id, attempt) => {
      if (id === slowKey) return attempt === 1 ? { status: 429, headers: { 'retry-after': '2' } } : 200;
      return 410;
    });
    const deliverer = startDeliverer(receiver, secret, { retry: { maxAttempts: 10, initialMs: 50, maxMs: 5_000, jitter: 0.2 } });
    try {
      await adjustBalance(ctx.pool, { accountId: c.accountId, amountMinor: 100, currency: 'usd', reason: 'slow', key: slowKey.slice('admin:adjust:'.length) });
      const gone = (await adjustBalance(ctx.pool, { accountId: c.accountId, amountMinor: 200, currency: 'usd', reason: 'gone', key: `gone-${uniqueSuffix()}` })).entry.idempotencyKey;
      const [slow] = await allReach([slowKey], 'delivered');
      expect(slow).toMatchObject({ attempts: 2 });
      const seen = receiver.requestsFor(slowKey);
      expect(seen[1]!.receivedAtMs - seen[0]!.receivedAtMs).toBeGreaterThanOrEqual(1_900);
      const [dead] = await allReach([gone], 'dead');
      expect(dead).toMatchObject({ attempts: 1, lastStatusCode: 410 });
      expect(dead!.lastError).toContain('HTTP 410 Gone');
    } finally {
      await deliverer.stop();
      await receiver.close();
    }
  });
});

describe('enqueued in the transaction of the movement', () => {
  it('a movement rolled back (a conflicting key refused by the ledger) leaves no notification; a duplicate movement adds none', async () => {
    const c = await newCustomer(ctx, fake);
    const existing = (await adjustBalance(ctx.pool, { accountId: c.accountId, amountMinor: 500, currency: 'usd', reason: 'first', key: `tx-${uniqueSuffix()}` })).entry;
    const fresh = `admin:adjust:tx-${uniqueSuffix()}`;
    const count = async (id: string, db: Pool | PoolClient = ctx.pool) =>
      (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM outgoing_notifications WHERE id = $1', [id])).rows[0]!.n;

    await expect(
      inTransaction(ctx.pool, async (tx) => {
        await appendLedgerEntry(tx, { accountId: c.accountId, currency: 'usd', amountMinor: 300, kind: 'admin_credit', idempotencyKey: fresh, reference: 'second' });
        // Inside the transaction the notification exists; outside it does not yet.
        expect(await count(fresh, tx)).toBe(1);
        expect(await count(fresh)).toBe(0);
        // The same key as the first adjustment with another amount: refused, and the whole transaction with it.
        await appendLedgerEntry(tx, { accountId: c.accountId, currency: 'usd', amountMinor: 999, kind: 'admin_credit', idempotencyKey: existing.idempotencyKey });
      }),
    ).rejects.toBeInstanceOf(LedgerIdempotencyConflictError);
    expect(await ledgerRows('idempotency_key = $1', [fresh])).toEqual([]);
    expect(await count(fresh)).toBe(0);

    // The same movement again writes no row, so no second notification; its notification keeps the first body.
    const again = await adjustBalance(ctx.pool, { accountId: c.accountId, amountMinor: 500, currency: 'usd', reason: 'first', key: existing.idempotencyKey.slice('admin:adjust:'.length) });
    expect(again.created).toBe(false);
    expect(await count(existing.idempotencyKey)).toBe(1);
    const [row] = await ledgerRows('idempotency_key = $1', [existing.idempotencyKey]);
    expect((await findNotification(ctx.pool, existing.idempotencyKey))?.payload).toEqual(expectedBody(row!));

    // A movement whose row was lost, written again under its key (what `reconcile --fix` does): it applies, and its
    // notification — already sent under that webhook-id — is neither doubled nor in the way.
    await inTransaction(ctx.pool, async (tx) => {
      await tx.query('SET LOCAL session_replication_role = replica');
      await tx.query('DELETE FROM ledger_entries WHERE idempotency_key = $1', [existing.idempotencyKey]);
      await tx.query("UPDATE balances SET amount_minor = amount_minor - 500 WHERE account_id = $1 AND currency = 'usd'", [c.accountId]);
    });
    const reapplied = await adjustBalance(ctx.pool, { accountId: c.accountId, amountMinor: 500, currency: 'usd', reason: 'first', key: existing.idempotencyKey.slice('admin:adjust:'.length) });
    expect(reapplied.created).toBe(true);
    expect(await count(existing.idempotencyKey)).toBe(1);

    // A generic enqueue rolls back with its transaction too, and the same id twice enqueues once.
    const other = `subscription:sub_${uniqueSuffix()}:created`;
    const body = { type: 'subscription.created', timestamp: new Date().toISOString(), data: {} };
    await expect(
      inTransaction(ctx.pool, async (tx) => {
        await enqueueNotification(tx, { id: other, type: 'subscription.created', payload: body });
        throw new Error('the subscription change failed');
      }),
    ).rejects.toThrow('the subscription change failed');
    expect(await count(other)).toBe(0);
    expect(await enqueueNotification(ctx.pool, { id: other, type: 'subscription.created', payload: body })).toBe(true);
    expect(await enqueueNotification(ctx.pool, { id: other, type: 'subscription.created', payload: body })).toBe(false);
  });
});

describe('retry budget and configuration', () => {
  it('the default budget retries for about 3 days (an endpoint answering 500 for a day loses nothing); Retry-After parses', () => {
    const horizonHours = retryHorizonMs(DEFAULT_NOTIFICATION_RETRY_POLICY) / 3_600_000;
    expect(horizonHours).toBeGreaterThan(24 * 2.5);
    expect(horizonHours).toBeLessThan(24 * 3.5);
    expect([1, 2, 3, 11, 40].map((n) => baseRetryDelayMs(n, DEFAULT_NOTIFICATION_RETRY_POLICY))).toEqual([10_000, 20_000, 40_000, 7_200_000, 7_200_000]);
    expect(parseRetryAfterMs('120')).toBe(120_000);
    expect(parseRetryAfterMs(new Date(Date.UTC(2030, 0, 1, 0, 1)).toUTCString(), Date.UTC(2030, 0, 1))).toBe(60_000);
    expect(parseRetryAfterMs('soon')).toBeNull();
    expect(describeEndpoint('https://user:pw@hooks.example.com/in?token=abc')).toBe('https://hooks.example.com/in');
  });

  it('NOTIFICATION_WEBHOOK_URL needs a Standard Webhooks secret', () => {
    const secret = newNotificationSecret();
    const url = 'https://hooks.example.com/payconfirm';
    expect(loadConfig({ NOTIFICATION_WEBHOOK_URL: url, NOTIFICATION_WEBHOOK_SECRET: secret }).notifications).toEqual({ url, secret, maxAttempts: 45, timeoutMs: 10_000 });
    expect(loadConfig({}).notifications.url).toBeUndefined();
    expect(() => loadConfig({ NOTIFICATION_WEBHOOK_URL: url })).toThrow(ConfigError);
    expect(() => loadConfig({ NOTIFICATION_WEBHOOK_URL: url })).toThrow(/^NOTIFICATION_WEBHOOK_SECRET is required/);
    expect(() => loadConfig({ NOTIFICATION_WEBHOOK_URL: url, NOTIFICATION_WEBHOOK_SECRET: 'whsec_c2hvcnQ=' })).toThrow(/^NOTIFICATION_WEBHOOK_SECRET must be whsec_/);
    expect(() => loadConfig({ NOTIFICATION_WEBHOOK_URL: 'ftp://x', NOTIFICATION_WEBHOOK_SECRET: secret })).toThrow(/^NOTIFICATION_WEBHOOK_URL/);
  });
});

describe('the worker process', () => {
  it('delivers with NOTIFICATION_WEBHOOK_URL set, stops on SIGTERM, and never logs the secret or the URL\'s query', async () => {
    const own = await createTestContext('notify-proc');
    const secret = newNotificationSecret();
    const receiver = await startNotificationReceiver(secret, (_id, attempt) => (attempt === 1 ? 500 : 200));
    let output = '';
    try {
      const c = await newCustomer(own, fake);
      const { entry } = await adjustBalance(own.pool, { accountId: c.accountId, amountMinor: 4_200, currency: 'usd', reason: 'welcome', key: `proc-${uniqueSuffix()}` });
      const child = spawn(process.execPath, ['--import', 'tsx', join('src', 'worker', 'main.ts')], {
        cwd: projectRoot(),
        stdio: ['ignore', 'pipe', 'pipe'],
        env: serviceEnv(own, {
          TEMPORAL_TASK_QUEUE: `${own.taskQueue}-proc`,
          STRIPE_API_BASE: fake.url,
          LOG_LEVEL: 'debug',
          SHUTDOWN_GRACE_MS: '2000',
          RECONCILE_INTERVAL: 'off',
          STRIPE_EVENT_BACKFILL_INTERVAL_MINUTES: '0',
          NOTIFICATION_WEBHOOK_URL: `${receiver.url}?token=query-secret-123`,
          NOTIFICATION_WEBHOOK_SECRET: secret,
          NOTIFICATION_TIMEOUT_MS: '3000',
        }),
      });
      child.stdout.on('data', (c: Buffer) => (output += String(c)));
      child.stderr.on('data', (c: Buffer) => (output += String(c)));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      try {
        // The first attempt is refused; the retry comes after the default first wait (10 s ± 20 %).
        await eventually(async () => receiver.accepted.get(entry.idempotencyKey) ?? 0, (n) => n === 1, {
          timeoutMs: 120_000,
          intervalMs: 200,
          description: `the worker process delivering ${entry.idempotencyKey}`,
        });
      } finally {
        child.kill('SIGTERM');
      }
      expect(await exited, output).toBe(0);
      expect(receiver.requestsFor(entry.idempotencyKey).map((r) => [r.status, r.verified])).toEqual([[500, true], [200, true]]);
      expect(output).toContain('delivering outgoing notifications');
      expect(output).not.toContain(secret.slice('whsec_'.length));
      expect(output).not.toContain('query-secret-123');
    } finally {
      await receiver.close();
      await own.close();
    }
  }, 180_000);
});
