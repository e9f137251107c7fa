/**
 * Where a confirm's time goes: 15 payments one after another through payconfirm's real workers on a fresh Temporal
 * dev server, and for each the workflow's own timeline — schedule-to-start of its two workflow tasks and its one
 * activity, and start-to-close of the whole run. `npx tsx bench/dispatch-latency.ts`
 *
 * On the 2-core machine this was measured on, every schedule-to-start steps from ~3 ms to ~30–40 ms after the first
 * handful of payments and stays there (docs/architecture.md, "Throughput, measured"); the cause is not found.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAccount } from '../src/db/accounts.js';
import { migrateUp } from '../src/db/migrate.js';
import { createPool } from '../src/db/pool.js';
import { startEmbeddedPostgres } from '../src/dev/embedded-postgres.js';
import { freePort } from '../src/dev/free-port.js';
import { ensureTool, TEMPORAL_CLI } from '../src/dev/go-tools.js';
import { startTemporalDevServer } from '../src/dev/temporal-dev-server.js';
import { createLogger } from '../src/logger.js';
import { createStripeClient } from '../src/stripe/stripe-client.js';
import { connectClient, connectWorker } from '../src/temporal/connection.js';
import { startOrAttachPayment } from '../src/temporal/payment-workflow-client.js';
import { installWorkerRuntime } from '../src/temporal/worker-runtime.js';
import { createWorkers, runWorkers } from '../src/worker/create-workers.js';
import { bundleWorkflows } from '../src/worker/workflow-source.js';
import { startFakeStripe } from '../test/support/fake-stripe/index.js';

const dir = mkdtempSync(join(tmpdir(), 'payconfirm-dispatch-'));
installWorkerRuntime({ logger: createLogger({ level: 'error' }) });
const postgres = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port: await freePort() });
const temporal = await startTemporalDevServer({ cliPath: await ensureTool(TEMPORAL_CLI), port: await freePort(), dbFile: join(dir, 'temporal.db') });
const fake = await startFakeStripe();
try {
  await migrateUp({ url: postgres.url, schema: 'dispatch' });
  const pool = createPool({ url: postgres.url, schema: 'dispatch', max: 10 });
  const { client } = await connectClient({ address: temporal.address, namespace: 'default' });
  const native = await connectWorker({ address: temporal.address, namespace: 'default' });
  const stripe = createStripeClient({ secretKey: fake.apiKey, apiBase: fake.url, timeoutMs: 5_000 });
  const workers = await createWorkers({ connection: native, namespace: 'default', taskQueue: 'dispatch', pool, stripe, client, stripeRateLimitPerSecond: 10_000, workflowBundle: { code: (await bundleWorkflows()).code } });
  const stop = new AbortController();
  const running = runWorkers(workers, stop.signal);
  const customer = fake.createCustomer({});
  await createAccount(pool, { stripeCustomerId: customer.id });
  const rows = [];
  for (let i = 0; i < 15; i++) {
    const pi = fake.createPaymentIntent({ amount: 100, currency: 'usd', customer: customer.id, metadata: { payconfirm: 'credit' } }).id;
    const t0 = performance.now();
    await (await startOrAttachPayment({ client, taskQueue: 'dispatch' }, pi, 'dispatch latency')).result();
    const caller = Math.round(performance.now() - t0);
    const events = (await client.workflow.getHandle(pi).fetchHistory()).events ?? [];
    const at = events.map((e) => Number(e.eventTime!.seconds) * 1000 + Math.round(Number(e.eventTime!.nanos) / 1e6));
    const step = (i: number) => at[i]! - at[i - 1]!;
    // Events: 1 started, 2 WFT scheduled, 3 WFT started, 4 completed, 5 activity scheduled, 6 started, 7 completed, 8 WFT scheduled, 9 started, …
    rows.push({ payment: i + 1, 'caller ms': caller, 'WFT 1 s2s': step(2), 'activity s2s': step(5), 'activity run': step(6), 'WFT 2 s2s': step(8), 'run ms': at.at(-1)! - at[0]! });
  }
  console.table(rows);
  stop.abort();
  await running;
  await native.close();
  await pool.end();
  await client.connection.close();
} finally {
  await fake.close();
  await temporal.stop();
  await postgres.stop();
  rmSync(dir, { recursive: true, force: true });
}
