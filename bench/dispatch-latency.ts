/**
 * Where a confirm's time goes: payments one after another through payconfirm's real workers, each on a fresh
 * Temporal dev server per setting of the history service's transfer-queue read rate
 * (`history.transferProcessorMaxPollRPS`: Temporal's default 20/s, and payconfirm's dev server's), and for each
 * payment the workflow's own timeline — schedule-to-start of its two workflow tasks and its one activity, the
 * activity's run, the whole run and what the caller waited.
 *
 *   npx tsx bench/dispatch-latency.ts [--payments 30] [--rates 20,200] [--each]
 *
 * At 20 reads a second (one shard), the first dozen payments are dispatched in ~3–8 ms a hop, then the read
 * budget is spent and every hop waits 20–50 ms for the next read: that was the "step" docs/architecture.md
 * reported without a cause. `--each` prints every payment's row.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createAccount } from '../src/db/accounts.js';
import { migrateUp } from '../src/db/migrate.js';
import { createPool } from '../src/db/pool.js';
import { startEmbeddedPostgres } from '../src/dev/embedded-postgres.js';
import { freePort } from '../src/dev/free-port.js';
import { ensureTool, TEMPORAL_CLI } from '../src/dev/go-tools.js';
import { DEV_TRANSFER_QUEUE_POLLS_PER_SECOND, startTemporalDevServer, TRANSFER_QUEUE_READS_KEY } from '../src/dev/temporal-dev-server.js';
import { createLogger } from '../src/logger.js';
import { createStripeClient } from '../src/stripe/stripe-client.js';
import { connectClient, connectWorker } from '../src/temporal/connection.js';
import { startOrAttachPayment } from '../src/temporal/payment-workflow-client.js';
import { installWorkerRuntime } from '../src/temporal/worker-runtime.js';
import { createWorkers, runWorkers } from '../src/worker/create-workers.js';
import { bundleWorkflows } from '../src/worker/workflow-source.js';
import { startFakeStripe, type FakeStripe } from '../test/support/fake-stripe/index.js';

const { values } = parseArgs({
  options: {
    payments: { type: 'string', default: '30' },
    rates: { type: 'string', default: `20,${DEV_TRANSFER_QUEUE_POLLS_PER_SECOND}` },
    each: { type: 'boolean', default: false },
  },
});
const PAYMENTS = Number(values.payments);
const RATES = values.rates!.split(',').map(Number);

interface PaymentTimeline {
  payment: number;
  'caller ms': number;
  'WFT 1 s2s': number;
  'activity s2s': number;
  'activity run': number;
  'WFT 2 s2s': number;
  'run ms': number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function timelines(postgresUrl: string, fake: FakeStripe, dir: string, pollsPerSecond: number): Promise<PaymentTimeline[]> {
  const schema = `dispatch_${pollsPerSecond}`;
  const temporal = await startTemporalDevServer({
    cliPath: await ensureTool(TEMPORAL_CLI),
    port: await freePort(),
    dbFile: join(dir, `temporal-${pollsPerSecond}.db`),
    dynamicConfig: { [TRANSFER_QUEUE_READS_KEY]: pollsPerSecond },
  });
  try {
    await migrateUp({ url: postgresUrl, schema });
    const pool = createPool({ url: postgresUrl, schema, max: 10 });
    const { client } = await connectClient({ address: temporal.address, namespace: 'default' });
    const native = await connectWorker({ address: temporal.address, namespace: 'default' });
    const stripe = createStripeClient({ secretKey: fake.apiKey, apiBase: fake.url, timeoutMs: 5_000 });
    const workers = await createWorkers({
      connection: native,
      namespace: 'default',
      taskQueue: 'dispatch',
      pool,
      stripe,
      client,
      workflowBundle: { code: (await bundleWorkflows()).code },
    });
    const stop = new AbortController();
    const running = runWorkers(workers, stop.signal);
    const customer = fake.createCustomer({});
    await createAccount(pool, { stripeCustomerId: customer.id });
    const rows: PaymentTimeline[] = [];
    for (let i = 0; i < PAYMENTS; i++) {
      const pi = fake.createPaymentIntent({ amount: 100, currency: 'usd', customer: customer.id, metadata: { payconfirm: 'credit' } }).id;
      const t0 = performance.now();
      await (await startOrAttachPayment({ client, taskQueue: 'dispatch' }, pi, 'dispatch latency')).result();
      const caller = Math.round(performance.now() - t0);
      const events = (await client.workflow.getHandle(pi).fetchHistory()).events ?? [];
      const at = events.map((e) => Number(e.eventTime!.seconds) * 1000 + Math.round(Number(e.eventTime!.nanos) / 1e6));
      const step = (n: number) => at[n]! - at[n - 1]!;
      // Events: 1 started, 2 WFT scheduled, 3 WFT started, 4 completed, 5 activity scheduled, 6 started, 7 completed, 8 WFT scheduled, 9 started, …
      rows.push({ payment: i + 1, 'caller ms': caller, 'WFT 1 s2s': step(2), 'activity s2s': step(5), 'activity run': step(6), 'WFT 2 s2s': step(8), 'run ms': at.at(-1)! - at[0]! });
    }
    stop.abort();
    await running;
    await native.close();
    await pool.end();
    await client.connection.close();
    return rows;
  } finally {
    await temporal.stop();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'payconfirm-dispatch-'));
installWorkerRuntime({ logger: createLogger({ level: 'error' }) });
const postgres = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port: await freePort() });
const fake = await startFakeStripe();
try {
  const summary = [];
  for (const rate of RATES) {
    const rows = await timelines(postgres.url, fake, dir, rate);
    if (values.each) {
      console.log(`\nhistory.transferProcessorMaxPollRPS=${rate}`);
      console.table(rows);
    }
    // The first payment warms up the worker (bundle, connections); the rest are in the medians.
    for (const [part, from, to] of [['2–12', 1, 12], [`13–${PAYMENTS}`, 12, PAYMENTS]] as const) {
      const slice = rows.slice(from, to);
      if (slice.length === 0) continue;
      const m = (k: keyof PaymentTimeline) => median(slice.map((r) => r[k]));
      summary.push({
        'transfer reads/s': rate,
        payments: part,
        'caller ms (median)': m('caller ms'),
        'WFT 1 s2s': m('WFT 1 s2s'),
        'activity s2s': m('activity s2s'),
        'activity run': m('activity run'),
        'WFT 2 s2s': m('WFT 2 s2s'),
        'run ms': m('run ms'),
      });
    }
  }
  console.log(`\nOne payment at a time, medians in ms (${PAYMENTS} payments a setting; s2s = schedule-to-start)`);
  console.table(summary);
} finally {
  await fake.close();
  await postgres.stop();
  rmSync(dir, { recursive: true, force: true });
}
