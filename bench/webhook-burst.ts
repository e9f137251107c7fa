/**
 * Webhook burst (month-start renewals): how fast POST /webhooks/stripe acknowledges N distinct, signed
 * `payment_intent.succeeded` deliveries, how long until every event workflow is started, and how long the workers
 * then take to apply them — beside a naive handler that starts the event workflow inline before answering.
 * Same signature check, same Temporal. The API process holds the API and (payconfirm) the relay, as in production;
 * workers start once the burst is acknowledged and dispatched (in production they are other processes), and
 * Stripe is the in-process fake.
 *
 *   npx tsx bench/webhook-burst.ts --events 1000 --concurrency 50
 *
 * What to read: with the inbox, ack latency is one INSERT and does not move with Temporal's start rate; inline,
 * every answer waits for a workflow start, so it grows with the burst (and becomes 503s when Temporal is away).
 */
import { SingleFlight } from '../src/runtime/single-flight.js';
import { UNLIMITED_ACCOUNT_BUDGETS } from '../src/api/account-budgets.js';
import { createStripeReadBudget } from '../src/api/stripe-read-budget.js';
import express, { Router } from 'express';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Stripe from 'stripe';
import type { ApiDeps } from '../src/api/api-deps.js';
import { createApp } from '../src/api/app.js';
import { listen } from '../src/api/http-server.js';
import { webhookRoutes } from '../src/api/routes/webhook-routes.js';
import { createAccount } from '../src/db/accounts.js';
import { migrateUp } from '../src/db/migrate.js';
import { createPool, type Pool } from '../src/db/pool.js';
import { startEmbeddedPostgres } from '../src/dev/embedded-postgres.js';
import { freePort } from '../src/dev/free-port.js';
import { ensureTool, TEMPORAL_CLI } from '../src/dev/go-tools.js';
import { startTemporalDevServer } from '../src/dev/temporal-dev-server.js';
import { summariseStripeEvent } from '../src/domain/stripe-events.js';
import { createLogger } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';
import { createStripeClient, type StripeClient } from '../src/stripe/stripe-client.js';
import { connectClient, connectWorker } from '../src/temporal/connection.js';
import { startStripeEventWorkflow } from '../src/temporal/stripe-event-workflow-client.js';
import { installWorkerRuntime } from '../src/temporal/worker-runtime.js';
import { startInboxRelay } from '../src/webhooks/inbox-relay.js';
import { verifyStripeSignature } from '../src/webhooks/verify-stripe-signature.js';
import { createWorkers, runWorkers } from '../src/worker/create-workers.js';
import { bundleWorkflows } from '../src/worker/workflow-source.js';
import { startFakeStripe, type FakeStripe } from '../test/support/fake-stripe/index.js';

const { values } = parseArgs({
  options: { events: { type: 'string', default: '1000' }, concurrency: { type: 'string', default: '50' } },
});
const EVENTS = Number(values.events);
const CONCURRENCY = Number(values.concurrency);
const SECRET = 'whsec_bench_0123456789abcdef';

interface Row {
  handler: string;
  'acks/s': number;
  'ack p50 ms': number;
  'ack p95 ms': number;
  'ack p99 ms': number;
  'ack max ms': number;
  'all dispatched s': number;
  'then applied in s': number;
}

const percentile = (sorted: number[], p: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!);
const seconds = (since: number) => Math.round((performance.now() - since) / 100) / 10;

async function until(probe: () => Promise<boolean>, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('bench: condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const count = async (pool: Pool, where: string) =>
  (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM stripe_webhook_events WHERE ${where}`)).rows[0]!.n;

/** The naive handler: same checks, then waits for Temporal to start the workflow before answering. */
function inlineStartRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.post('/webhooks/stripe', express.raw({ type: 'application/json', limit: deps.settings.webhookMaxBodyBytes }), async (req, res) => {
    const shape = summariseStripeEvent(verifyStripeSignature(req.body as Buffer, req.header('stripe-signature'), deps.settings.webhookSecrets));
    if (!shape.ok) throw new Error(shape.problem);
    await startStripeEventWorkflow(deps.payments, shape.summary);
    res.json({ received: true });
  });
  return router;
}

type Handler = 'inbox + relay (payconfirm)' | 'inbox, relay held until the burst ends' | 'inline workflow start (naive)';

async function scenario(
  handler: Handler,
  env: { databaseUrl: string; temporalAddress: string; stripe: StripeClient; fake: FakeStripe; workflowCode: string },
): Promise<Row> {
  const schema = `bench_webhooks_${Math.random().toString(36).slice(2, 8)}`;
  await migrateUp({ url: env.databaseUrl, schema });
  const pool = createPool({ url: env.databaseUrl, schema, max: 30 });
  const { connection, client } = await connectClient({ address: env.temporalAddress, namespace: 'default' });
  const native = await connectWorker({ address: env.temporalAddress, namespace: 'default' });
  const taskQueue = `bench-webhooks-${schema}`;
  let stopWorkers: AbortController | undefined;
  let running: Promise<void> | undefined;
  const logger = createLogger({ level: 'silent' });
  const deps: ApiDeps = {
    pool,
    stripe: env.stripe,
    temporal: { connection, client, namespace: 'default', taskQueue },
    payments: { client, taskQueue },
    logger,
    metrics: createMetrics(),
    stripeReads: createStripeReadBudget(0),
    truthReads: new SingleFlight(),
    settings: { confirmWaitMs: 0, accountBudgets: UNLIMITED_ACCOUNT_BUDGETS, webhookSecrets: [SECRET], webhookMaxBodyBytes: 1_048_576, moneyPolicy: { creditPaymentIntents: 'all', balanceMirror: 'on' }, idempotency: { ttlHours: 24, leaseSeconds: 60 }, stateGaugesMaxAgeMs: 0 },
  };
  const inbox = handler.startsWith('inbox');
  const startRelay = () => startInboxRelay({ pool, events: deps.payments, logger });
  let relay = handler === 'inbox + relay (payconfirm)' ? startRelay() : undefined;
  deps.onInboxRow = () => relay?.wake();
  const server = await listen(createApp(deps, [inbox ? webhookRoutes(deps) : inlineStartRoutes(deps)]), 0, '127.0.0.1');
  try {
    const customer = env.fake.createCustomer({});
    await createAccount(pool, { stripeCustomerId: customer.id, name: handler });
    const bodies = Array.from({ length: EVENTS }, () => {
      const pi = env.fake.createPaymentIntent({ amount: 1_000, currency: 'usd', customer: customer.id, status: 'succeeded' });
      return JSON.stringify(env.fake.buildEvent('payment_intent.succeeded', pi));
    });
    const latencies: number[] = [];
    let next = 0;
    const began = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < EVENTS) {
          const payload = bodies[next++]!;
          const t0 = performance.now();
          const res = await fetch(`${server.url}/webhooks/stripe`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET }) },
            body: payload,
          });
          await res.arrayBuffer();
          if (res.status !== 200) throw new Error(`bench: delivery answered ${res.status}`);
          latencies.push(performance.now() - t0);
        }
      }),
    );
    const ackSeconds = (performance.now() - began) / 1000;
    if (inbox) relay ??= startRelay();
    if (inbox) await until(async () => (await count(pool, "status = 'received'")) === 0);
    const dispatched = seconds(began);
    const workers = await createWorkers({
      connection: native,
      namespace: 'default',
      taskQueue,
      pool,
      stripe: env.stripe,
      client,
      workflowBundle: { code: env.workflowCode },
    });
    stopWorkers = new AbortController();
    running = runWorkers(workers, stopWorkers.signal);
    const applying = performance.now();
    await until(async () => (await count(pool, "status = 'processed'")) === EVENTS);
    const processed = seconds(applying);
    latencies.sort((a, b) => a - b);
    return {
      handler,
      'acks/s': Math.round(EVENTS / ackSeconds),
      'ack p50 ms': percentile(latencies, 0.5),
      'ack p95 ms': percentile(latencies, 0.95),
      'ack p99 ms': percentile(latencies, 0.99),
      'ack max ms': Math.round(latencies.at(-1)!),
      'all dispatched s': inbox ? dispatched : Math.round(ackSeconds * 10) / 10,
      'then applied in s': processed,
    };
  } finally {
    await server.close(1_000);
    await relay?.stop();
    stopWorkers?.abort();
    await running;
    await native.close();
    await connection.close();
    await pool.end();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'payconfirm-bench-webhooks-'));
installWorkerRuntime({ logger: createLogger({ level: 'error' }) });
const postgres = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port: await freePort() });
const temporal = await startTemporalDevServer({ cliPath: await ensureTool(TEMPORAL_CLI), port: await freePort(), dbFile: join(dir, 'temporal.db') });
const fake = await startFakeStripe();
try {
  const env = {
    databaseUrl: postgres.url,
    temporalAddress: temporal.address,
    stripe: createStripeClient({ secretKey: fake.apiKey, apiBase: fake.url, timeoutMs: 10_000 }),
    fake,
    workflowCode: (await bundleWorkflows()).code,
  };
  const rows = [
    await scenario('inbox + relay (payconfirm)', env),
    await scenario('inbox, relay held until the burst ends', env),
    await scenario('inline workflow start (naive)', env),
  ];
  console.log(`\n${EVENTS} distinct signed payment_intent.succeeded deliveries, ${CONCURRENCY} in flight; Temporal dev server (SQLite file, WAL)\n`);
  console.table(rows);
} finally {
  await fake.close();
  await temporal.stop();
  await postgres.stop();
  rmSync(dir, { recursive: true, force: true });
}
