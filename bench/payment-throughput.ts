/**
 * Payment throughput, honestly measured: payments/s and latency through the full Temporal path, for three
 * dev-server storage settings, beside a naive inline handler (ledger credit + Stripe POSTs in the request, no
 * orchestration — what payconfirm replaces). Stripe is the in-process fake, so Stripe's own latency and
 * rate limit are not part of the numbers; the real ceiling in production is Stripe's ~100 requests/s.
 *
 *   npm run bench -- --payments 200 --concurrency 50
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createAccount } from '../src/db/accounts.js';
import { migrateUp } from '../src/db/migrate.js';
import { createPool, type Pool } from '../src/db/pool.js';
import { startEmbeddedPostgres } from '../src/dev/embedded-postgres.js';
import { freePort } from '../src/dev/free-port.js';
import { ensureTool, TEMPORAL_CLI } from '../src/dev/go-tools.js';
import { startTemporalDevServer } from '../src/dev/temporal-dev-server.js';
import { createLogger } from '../src/logger.js';
import { createStripeClient, type StripeClient } from '../src/stripe/stripe-client.js';
import { connectClient, connectWorker } from '../src/temporal/connection.js';
import { startOrAttachPayment } from '../src/temporal/payment-workflow-client.js';
import { installWorkerRuntime } from '../src/temporal/worker-runtime.js';
import { createWorkers, runWorkers } from '../src/worker/create-workers.js';
import { bundleWorkflows } from '../src/worker/workflow-source.js';
import { startFakeStripe, type FakeStripe } from '../test/support/fake-stripe/index.js';
import { creditInline } from './naive-credit.js';

const { values } = parseArgs({
  options: { payments: { type: 'string', default: '200' }, concurrency: { type: 'string', default: '50' } },
});
const PAYMENTS = Number(values.payments);
const CONCURRENCY = Number(values.concurrency);

interface Result {
  scenario: string;
  perSecond: number;
  p50Ms: number;
  p95Ms: number;
  historyEvents?: number;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

/** Runs `task(i)` for i < n with at most `concurrency` in flight; returns each task's latency in ms. */
async function runBounded(n: number, concurrency: number, task: (i: number) => Promise<void>): Promise<{ latencies: number[]; seconds: number }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) {
        const i = next++;
        const t0 = performance.now();
        await task(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { latencies: latencies.sort((a, b) => a - b), seconds: (performance.now() - started) / 1000 };
}

const summarize = (scenario: string, r: { latencies: number[]; seconds: number }, historyEvents?: number): Result => ({
  scenario,
  perSecond: Math.round((PAYMENTS / r.seconds) * 10) / 10,
  p50Ms: Math.round(percentile(r.latencies, 0.5)),
  p95Ms: Math.round(percentile(r.latencies, 0.95)),
  ...(historyEvents !== undefined ? { historyEvents } : {}),
});

async function seedPayments(pool: Pool, fake: FakeStripe, label: string): Promise<string[]> {
  const customer = fake.createCustomer({});
  await createAccount(pool, { stripeCustomerId: customer.id, name: label });
  return Array.from({ length: PAYMENTS }, () => fake.createPaymentIntent({ amount: 1_000, currency: 'usd', customer: customer.id }).id);
}

/** The naive baseline: credit and call Stripe inline, as a request handler would. */
async function naiveInline(pool: Pool, stripe: StripeClient, fake: FakeStripe): Promise<Result> {
  const ids = await seedPayments(pool, fake, 'naive');
  const r = await runBounded(PAYMENTS, CONCURRENCY, async (i) => {
    if ((await creditInline(pool, stripe, ids[i]!)) !== 'credited') throw new Error(`bench: ${ids[i]} not credited inline`);
  });
  return summarize('naive inline handler (no orchestration)', r);
}

async function throughTemporal(
  scenario: string,
  cliPath: string,
  dbFile: string | undefined,
  databaseUrl: string,
  stripe: StripeClient,
  fake: FakeStripe,
  workflowCode: string,
): Promise<Result> {
  const server = await startTemporalDevServer({ cliPath, port: await freePort(), ...(dbFile ? { dbFile } : {}) });
  const schema = `bench_${Math.random().toString(36).slice(2, 8)}`;
  await migrateUp({ url: databaseUrl, schema });
  const pool = createPool({ url: databaseUrl, schema, max: 30 });
  const { connection, client } = await connectClient({ address: server.address, namespace: 'default' });
  const nativeConnection = await connectWorker({ address: server.address, namespace: 'default' });
  const taskQueue = 'bench';
  const workers = await createWorkers({
    connection: nativeConnection,
    namespace: 'default',
    taskQueue,
    pool,
    stripe,
    client,
    moneyPolicy: { creditPaymentIntents: 'all', balanceMirror: 'on' },
    workflowBundle: { code: workflowCode },
  });
  const stop = new AbortController();
  const running = runWorkers(workers, stop.signal);
  try {
    const ids = await seedPayments(pool, fake, scenario);
    const starter = { client, taskQueue };
    const r = await runBounded(PAYMENTS, CONCURRENCY, async (i) => {
      const handle = await startOrAttachPayment(starter, ids[i]!, 'bench');
      const outcome = await handle.result();
      if (outcome.status !== 'credited') throw new Error(`unexpected outcome ${outcome.status}`);
    });
    const history = (await client.workflow.getHandle(ids[0]!).describe()).historyLength;
    return summarize(scenario, r, history);
  } finally {
    stop.abort();
    await running;
    await nativeConnection.close();
    await connection.close();
    await pool.end();
    await server.stop();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'payconfirm-bench-'));
installWorkerRuntime({ logger: createLogger({ level: 'error' }) });
const postgres = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port: await freePort() });
const fake = await startFakeStripe();
try {
  const stripe = createStripeClient({ secretKey: fake.apiKey, apiBase: fake.url, timeoutMs: 10_000 });
  const cliPath = await ensureTool(TEMPORAL_CLI);
  const { code } = await bundleWorkflows();
  const naivePool = createPool({ url: postgres.url, schema: 'bench_naive', max: 30 });
  await migrateUp({ url: postgres.url, schema: 'bench_naive' });
  const results: Result[] = [await naiveInline(naivePool, stripe, fake)];
  await naivePool.end();
  results.push(await throughTemporal('Temporal dev server, in-memory SQLite', cliPath, undefined, postgres.url, stripe, fake, code));
  results.push(await throughTemporal('Temporal dev server, SQLite file + WAL/NORMAL', cliPath, join(dir, 'temporal.db'), postgres.url, stripe, fake, code));
  console.log(`\n${PAYMENTS} payments, ${CONCURRENCY} in flight, 2-core machine\n`);
  console.table(results);
} finally {
  await fake.close();
  await postgres.stop();
  rmSync(dir, { recursive: true, force: true });
}
