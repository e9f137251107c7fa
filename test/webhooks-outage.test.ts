import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { verifyLedger } from '../src/db/ledger-verify.js';
import { migrateUp } from '../src/db/migrate.js';
import { createPool } from '../src/db/pool.js';
import { findInboxEvent } from '../src/db/webhook-inbox.js';
import { startEmbeddedPostgres, type EmbeddedPostgresOptions, type RunningPostgres } from '../src/dev/embedded-postgres.js';
import { freePort } from '../src/dev/free-port.js';
import { startTemporalDevServer, type TemporalDevServer, type TemporalDevServerOptions } from '../src/dev/temporal-dev-server.js';
import { connectClient } from '../src/temporal/connection.js';
import { eventually } from './support/eventually.js';
import type { FakeStripe } from './support/fake-stripe/index.js';
import { moneyFor, newCustomer, newPaymentIntent } from './support/payment-fixtures.js';
import { deliver, inboxCount, inboxRowReaches, paymentIntentEvent, startWebhookStack, workflowExists, type WebhookStack } from './support/stripe-webhooks.js';
import type { TestApi } from './support/test-api.js';
import { uniqueSuffix, type TestContext } from './support/test-context.js';

/**
 * Temporal, Postgres, then both go away under the webhook endpoint and come back. This file runs its own Temporal
 * dev server (SQLite file: a restart keeps its state) and its own Postgres (data directory kept), since it stops them.
 */

let dir: string;
let temporalOptions: TemporalDevServerOptions;
let postgresOptions: EmbeddedPostgresOptions;
let temporal: TemporalDevServer | undefined;
let postgres: RunningPostgres | undefined;
let ctx: TestContext;
let stack: WebhookStack;
let fake: FakeStripe;
let api: TestApi;

/** Activities keep retrying through an outage of a minute or more instead of asking an operator. */
const PATIENT_TUNING = {
  processingRecheck: '2 seconds',
  activityTimeout: '10 seconds',
  activityRetry: { maximumAttempts: 500, initialInterval: '100 milliseconds', maximumInterval: '1 second' },
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'payconfirm-webhooks-outage-'));
  temporalOptions = { cliPath: inject('temporalCliPath'), port: await freePort(), dbFile: join(dir, 'temporal.db'), logFile: join(dir, 'temporal.log') };
  postgresOptions = { dataDir: join(dir, 'postgres'), port: await freePort() };
  [temporal, postgres] = await Promise.all([startTemporalDevServer(temporalOptions), startEmbeddedPostgres(postgresOptions)]);
  await migrateUp({ url: postgres.url });
  const pool = createPool({ url: postgres.url, max: 20, application: 'test-webhooks-outage' });
  const { connection, client } = await connectClient({ address: temporal.address, namespace: 'default' });
  ctx = {
    label: 'webhooks-outage',
    databaseUrl: postgres.url,
    schema: 'public',
    pool,
    temporalAddress: temporal.address,
    taskQueue: `test-webhooks-outage-${uniqueSuffix()}`,
    connection,
    client,
    workflowBundlePath: inject('workflowBundlePath'),
    async close() {
      await pool.end();
      await connection.close();
    },
  };
  // A start that Temporal cannot answer fails after 1 s (5 s by default), so the relay's backoff shows sooner.
  stack = await startWebhookStack(ctx, { tuning: PATIENT_TUNING, relay: { startDeadlineMs: 1_000 } });
  ({ fake, api } = stack);
});
afterAll(async () => {
  await stack?.close();
  await ctx?.close();
  await Promise.allSettled([temporal?.stop(), postgres?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const stopTemporal = async () => {
  await temporal!.stop();
  temporal = undefined;
};
const stopPostgres = async () => {
  await postgres!.stop();
  postgres = undefined;
};

describe('webhooks through outages', () => {
  it('Temporal stopped: deliveries still answer 200 and wait in the inbox; Temporal back: each is processed once', async () => {
    const c = await newCustomer(ctx, fake);
    const pis = Array.from({ length: 20 }, (_, i) => newPaymentIntent(fake, c.customerId, { amount: 500 + i }));
    const events = pis.map((pi) => paymentIntentEvent(fake, 'payment_intent.succeeded', pi));

    await stopTemporal();
    const answers = await Promise.all([...events, ...events.slice(0, 5)].map((e) => deliver(api.url, e)));
    expect(answers.map((a) => a.status)).toEqual(Array(25).fill(200));
    expect(answers.filter((a) => a.body.duplicate === true)).toHaveLength(5);
    // The relay tried, failed, released its claims and backs off; every row still waits.
    await eventually(() => inboxCount(ctx.pool, "status = 'received' AND attempts >= 1 AND last_error LIKE 'starting the event workflow failed%'"), (n) => n === 20, {
      description: 'relay attempts recorded while Temporal is down',
    });

    temporal = await startTemporalDevServer(temporalOptions);
    await eventually(() => inboxCount(ctx.pool, "status = 'processed' AND event_id = ANY($1)", [events.map((e) => e.id)]), (n) => n === 20, {
      timeoutMs: 60_000,
      description: 'all 20 processed after Temporal is back',
    });
    await eventually(async () => fake.balanceTransactions(c.customerId).length, (n) => n >= 20, { timeoutMs: 60_000 });
    for (const pi of pis) {
      const money = await moneyFor(ctx, fake, pi, c.customerId);
      expect({ pi, credits: money.ledgerCredits.length, stripe: money.stripeCredits.length }).toEqual({ pi, credits: 1, stripe: 1 });
    }
    for (const e of events.slice(0, 3)) expect((await ctx.client.workflow.count(`WorkflowId = '${e.id}'`)).count).toBe(1);
  });

  it('Postgres stopped: the event workflow is started directly (200); Postgres back: it writes the inbox row and the credit lands once', async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { amount: 4_400 });
    const event = paymentIntentEvent(fake, 'payment_intent.succeeded', pi);

    await stopPostgres();
    const first = await deliver(api.url, event);
    const twin = await deliver(api.url, event);
    expect([first.status, twin.status]).toEqual([200, 200]);
    expect(first.body).toEqual({ received: true });
    expect(await workflowExists(ctx.client, event.id)).toBe(true);

    postgres = await startEmbeddedPostgres(postgresOptions);
    const row = await inboxRowReaches(ctx.pool, event.id, 'processed', 60_000);
    expect(row).toMatchObject({ eventType: 'payment_intent.succeeded', paymentIntentId: pi, attempts: 0 });
    const stored = await ctx.pool.query('SELECT payload FROM stripe_webhook_events WHERE event_id = $1', [event.id]);
    expect(stored.rows[0].payload).toEqual(event);
    const money = await eventually(() => moneyFor(ctx, fake, pi, c.customerId), (m) => m.ledgerCredits.length === 1 && m.stripeCredits.length === 1, { timeoutMs: 60_000 });
    expect(money.ledgerCredits).toEqual([{ id: expect.any(String), amount_minor: 4_400 }]);
    expect((await ctx.client.workflow.count(`WorkflowId = '${event.id}'`)).count).toBe(1);
  });

  it('Postgres and Temporal both stopped: 503 with Retry-After and nothing half-written; the retry after recovery is applied once', async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { amount: 3_100 });
    const event = paymentIntentEvent(fake, 'payment_intent.succeeded', pi);

    await Promise.all([stopTemporal(), stopPostgres()]);
    const refused = await deliver(api.url, event);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('30');
    expect(refused.body.error).toEqual({ code: 'webhook_unavailable', message: expect.any(String), request_id: expect.any(String) });

    [temporal, postgres] = await Promise.all([startTemporalDevServer(temporalOptions), startEmbeddedPostgres(postgresOptions)]);
    expect(await findInboxEvent(ctx.pool, event.id)).toBeNull();
    expect(await workflowExists(ctx.client, event.id)).toBe(false);
    expect(await workflowExists(ctx.client, pi)).toBe(false);

    // Stripe retries the delivery.
    expect((await deliver(api.url, event)).body).toEqual({ received: true });
    await inboxRowReaches(ctx.pool, event.id, 'processed', 60_000);
    const money = await eventually(() => moneyFor(ctx, fake, pi, c.customerId), (m) => m.stripeCredits.length === 1, { timeoutMs: 60_000 });
    expect(money.ledgerCredits).toHaveLength(1);
  });

  it('leaves the ledger consistent (invariants 1 and 2)', async () => {
    expect(await verifyLedger(ctx.pool)).toMatchObject({ ok: true });
  });
});
