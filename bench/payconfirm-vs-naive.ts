/**
 * payconfirm beside a naive inline handler, on one machine, in one run: throughput, Stripe requests and history
 * events per credited payment, confirm latency one at a time, webhook acknowledgement latency at a fixed rate while
 * the backlog drains, and confirm latency while 5,000 webhook-started payments drain. `npm run bench`.
 *
 *   npm run bench -- [--payments 300] [--concurrency 50] [--rate 200] [--seconds 10] [--backlog 5000]
 *                    [--confirms 30] [--worker-nice 10] [--temporal-nice 0] [--relay-pace 200] [--transfer-reads 200]
 *                    [--only throughput,confirm,ack,drain] [--temporal-config key=value,…]
 *
 * Topology, as in production: payconfirm's API (webhook route + inbox relay) and its worker run as their own
 * processes (the worker niced, so acknowledging webhooks keeps the CPU first); the naive handler is its own process
 * too. This process holds the load generator, the fake Stripe (in-process: Stripe's own latency and rate limit are
 * not in these numbers — see docs/architecture.md), an embedded Postgres and a Temporal dev server (SQLite file,
 * WAL, synchronous=NORMAL). Load is open-loop where a rate is given (sends go out on schedule, whatever the answers).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Stripe from 'stripe';
import { createAccount } from '../src/db/accounts.js';
import { migrateUp } from '../src/db/migrate.js';
import { createPool, type Pool } from '../src/db/pool.js';
import { startEmbeddedPostgres } from '../src/dev/embedded-postgres.js';
import { freePort } from '../src/dev/free-port.js';
import { ensureTool, TEMPORAL_CLI } from '../src/dev/go-tools.js';
import { projectRoot } from '../src/runtime/project-paths.js';
import { DEV_TRANSFER_QUEUE_POLLS_PER_SECOND, startTemporalDevServer, TRANSFER_QUEUE_READS_KEY } from '../src/dev/temporal-dev-server.js';
import { connectClient } from '../src/temporal/connection.js';
import { startOrAttachPayment } from '../src/temporal/payment-workflow-client.js';
import { startFakeStripe, type FakeStripe } from '../test/support/fake-stripe/index.js';
import { cpuMsPer, cpuSecondsOf, findPid } from './process-cpu.js';

const { values } = parseArgs({
  options: {
    payments: { type: 'string', default: '300' },
    concurrency: { type: 'string', default: '50' },
    rate: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '10' },
    backlog: { type: 'string', default: '5000' },
    confirms: { type: 'string', default: '30' },
    'worker-nice': { type: 'string', default: '10' },
    /** Niceness of the Temporal dev server (0: as the API; in production it runs on other machines). */
    'temporal-nice': { type: 'string', default: '0' },
    'relay-pace': { type: 'string', default: '200' },
    /** history.transferProcessorMaxPollRPS of the dev server (Temporal's default is 20; payconfirm's dev server 200). */
    'transfer-reads': { type: 'string', default: String(DEV_TRANSFER_QUEUE_POLLS_PER_SECOND) },
    /** More dev-server dynamic config, `key=value,key=value` (over src/dev/temporal-dev-server.ts's DEV_DYNAMIC_CONFIG). */
    'temporal-config': { type: 'string', default: '' },
    /** Run only some parts: throughput, confirm, ack, drain (comma-separated). */
    only: { type: 'string', default: 'throughput,confirm,ack,drain' },
  },
});
const PARTS = new Set(values.only!.split(','));
const WORKER_NICE = Number(values['worker-nice']);
const RELAY_PACE = values['relay-pace']!;
const PAYMENTS = Number(values.payments);
const CONCURRENCY = Number(values.concurrency);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const BACKLOG = Number(values.backlog);
const CONFIRMS = Number(values.confirms);
const SECRET = 'whsec_bench_0123456789abcdef';
const TASK_QUEUE = 'bench';

const percentile = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN);
};
const round1 = (x: number) => Math.round(x * 10) / 10;

/** A service child process; resolves once it prints a line matching `ready`. */
async function spawnService(args: string[], env: NodeJS.ProcessEnv, ready: RegExp, opts: { nice?: number } = {}): Promise<{ child: ChildProcess; line: string; stop(): Promise<void> }> {
  const command = opts.nice ? 'nice' : process.execPath;
  const argv = opts.nice ? ['-n', String(opts.nice), process.execPath, ...args] : args;
  const child = spawn(command, argv, { cwd: projectRoot(), env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  // The services log on (the API a line a request): keep only a tail for error messages, and look for the ready
  // line in new lines only — re-reading the whole output on every chunk cost this process more CPU than the fake
  // Stripe and the Temporal client together.
  let tail = '';
  let partial = '';
  let isReady = false;
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bench: ${args.join(' ')} not ready:\n${tail}`)), 90_000);
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      tail = (tail + text).slice(-3000);
      if (isReady) return;
      const lines = (partial + text).split('\n');
      partial = lines.pop()!;
      const found = lines.find((l) => ready.test(l));
      if (found) {
        isReady = true;
        clearTimeout(timer);
        resolve(found);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`bench: ${args.join(' ')} exited ${code}:\n${tail}`)));
  });
  return {
    child,
    line,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
      }),
  };
}

async function until(probe: () => Promise<boolean>, what: string, timeoutMs = 900_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`bench: ${what} not reached in time`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs task(i) for i < n with `concurrency` in flight; latencies in ms and the wall time in s. */
async function closedLoop(n: number, concurrency: number, task: (i: number) => Promise<void>) {
  const latencies: number[] = [];
  let next = 0;
  const began = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(n, concurrency) }, async () => {
      while (next < n) {
        const i = next++;
        const t0 = performance.now();
        await task(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { latencies, seconds: (performance.now() - began) / 1000 };
}

/** Sends `n` requests at `rate`/s on schedule (open loop): the i-th goes out at i / rate s, whatever came back. */
async function openLoop(n: number, rate: number, send: (i: number) => Promise<void>): Promise<number[]> {
  const latencies: number[] = new Array(n);
  const began = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const due = began + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    inFlight.push(
      (async () => {
        await send(i);
        latencies[i] = performance.now() - due; // from the scheduled time: a late send counts against the server
      })(),
    );
  }
  await Promise.all(inFlight);
  return latencies;
}

async function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function deliver(url: string, payload: string): Promise<number> {
  const res = await fetch(`${url}/webhooks/stripe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET }) },
    body: payload,
  });
  await res.arrayBuffer();
  return res.status;
}

interface Customer {
  customerId: string;
  apiKey: string;
}

/** Customers with accounts (payments spread over them, so each builds up a history of balance transactions). */
async function customers(pool: Pool, fake: FakeStripe, n: number): Promise<Customer[]> {
  const out: Customer[] = [];
  for (let i = 0; i < n; i++) {
    const customer = fake.createCustomer({});
    const { apiKey } = await createAccount(pool, { stripeCustomerId: customer.id, name: `bench ${i}` });
    out.push({ customerId: customer.id, apiKey });
  }
  return out;
}

const newPayment = (fake: FakeStripe, c: Customer) =>
  fake.createPaymentIntent({ amount: 1_000, currency: 'usd', customer: c.customerId, metadata: { payconfirm: 'credit' } }).id;

const credits = async (pool: Pool, pis: readonly string[]) =>
  (await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM ledger_entries WHERE kind = 'payment_credit' AND payment_intent_id = ANY($1)", [pis])).rows[0]!.n;

interface Row {
  figure: string;
  naive: number | string;
  payconfirm: number | string;
  'payconfirm ÷ naive': number | string;
  goal: string;
}
const ratio = (p: number, n: number) => (n > 0 ? Math.round((p / n) * 100) / 100 : '—');

/** Stripe requests per payment, both sides, against the ≤ 3 goal. */
const requestsRow = (figure: string, naive: number, payconfirm: number, payments: number): Row => ({
  figure,
  naive: round1(naive / payments),
  payconfirm: round1(payconfirm / payments),
  'payconfirm ÷ naive': ratio(payconfirm, naive),
  goal: '≤ 3',
});

/** A signed-delivery body: the payment_intent.succeeded event of a fresh credit purchase of `c`. */
const succeededEventOf = (fake: FakeStripe, c: Customer): { pi: string; body: string } => {
  const pi = newPayment(fake, c);
  return { pi, body: JSON.stringify(fake.buildEvent('payment_intent.succeeded', fake.getPaymentIntent(pi)!)) };
};

const dir = mkdtempSync(join(tmpdir(), 'payconfirm-bench-'));
const postgres = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port: await freePort() });
const temporal = await startTemporalDevServer({
  cliPath: await ensureTool(TEMPORAL_CLI),
  port: await freePort(),
  dbFile: join(dir, 'temporal.db'),
  dynamicConfig: {
    [TRANSFER_QUEUE_READS_KEY]: Number(values['transfer-reads']),
    ...Object.fromEntries(
      values['temporal-config']!.split(',').filter(Boolean).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
    ),
  },
});
const fake = await startFakeStripe();
const children: Array<{ stop(): Promise<void> }> = [];
try {
  await migrateUp({ url: postgres.url, schema: 'bench_naive' });
  await migrateUp({ url: postgres.url, schema: 'bench_payconfirm' });
  const naivePool = createPool({ url: postgres.url, schema: 'bench_naive', max: 5 });
  const pool = createPool({ url: postgres.url, schema: 'bench_payconfirm', max: 5 });
  const { client } = await connectClient({ address: temporal.address, namespace: 'default' });

  const common = { STRIPE_API_BASE: fake.url, STRIPE_SECRET_KEY: fake.apiKey, STRIPE_WEBHOOK_SECRET: SECRET, DATABASE_URL: postgres.url, LOG_LEVEL: 'error' };
  const naive = await spawnService(['--import', 'tsx', 'bench/naive-handler.ts'], { ...common, DATABASE_SCHEMA: 'bench_naive', PORT: '0' }, /^ready /);
  children.push(naive);
  const naiveUrl = naive.line.split(' ')[1]!;
  const apiPort = await freePort();
  const service = {
    ...common,
    DATABASE_SCHEMA: 'bench_payconfirm',
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: TASK_QUEUE,
    STRIPE_RATE_LIMIT_PER_SECOND: '10000',
    STRIPE_OPERATION_RATE_LIMIT_PER_SECOND: '10000',
    CONFIRM_RATE_LIMIT_PER_MINUTE: '0',
    API_STRIPE_READS_PER_SECOND: '0',
    CREDIT_PAYMENT_INTENTS: 'tagged',
    WEBHOOK_RELAY_STARTS_PER_SECOND: RELAY_PACE,
  };
  const api = await spawnService(['--import', 'tsx', 'src/api/main.ts'], { ...service, PORT: String(apiPort), LOG_LEVEL: 'info' }, /listening|"url"/);
  children.push(api);
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const worker = await spawnService(['--import', 'tsx', 'src/worker/main.ts'], { ...service, LOG_LEVEL: 'info' }, /worker running/, { nice: WORKER_NICE });
  children.push(worker);
  if (Number(values['temporal-nice']) !== 0 && temporal.pid) setPriority(temporal.pid, Number(values['temporal-nice']));
  // Who spends the CPU (Linux /proc): the dev server, payconfirm's two processes, the naive handler, Postgres (the
  // postmaster and its backends) and this process (load generator, Temporal client, the fake Stripe).
  const processes = {
    temporal: { pid: temporal.pid },
    postgres: { pid: findPid('postgres', join(dir, 'pg')), withDescendants: true },
    worker: { pid: worker.child.pid },
    api: { pid: api.child.pid },
    naive: { pid: naive.child.pid },
    bench: { pid: process.pid },
  };
  const cpuNow = () => cpuSecondsOf(processes);

  const naiveCustomers = await customers(naivePool, fake, 10);
  const payCustomers = await customers(pool, fake, 10);
  // Warm both paths once (JIT, connections, the worker's workflow bundle).
  await postJson(`${naiveUrl}/confirm`, { payment_intent_id: newPayment(fake, naiveCustomers[0]!) });
  await postJson(`${apiUrl}/billing/confirm_payment`, { payment_intent_id: newPayment(fake, payCustomers[0]!) }, { authorization: `Bearer ${payCustomers[0]!.apiKey}` });

  const rows: Row[] = [];
  const requestsDuring = async (work: () => Promise<void>) => {
    const first = fake.requests.length;
    await work();
    return fake.requests.length - first;
  };

  // 1. Throughput: PAYMENTS payments, CONCURRENCY in flight (payconfirm: the payment workflow, as a webhook starts it).
  if (PARTS.has('throughput')) {
    const naivePis = Array.from({ length: PAYMENTS }, (_, i) => newPayment(fake, naiveCustomers[i % naiveCustomers.length]!));
    let naiveRun = { latencies: [] as number[], seconds: 0 };
    const naiveCpuBefore = cpuNow();
    const naiveRequests = await requestsDuring(async () => {
      naiveRun = await closedLoop(PAYMENTS, CONCURRENCY, async (i) => void (await postJson(`${naiveUrl}/confirm`, { payment_intent_id: naivePis[i] })));
    });
    const naiveCpu = cpuMsPer(naiveCpuBefore, cpuNow(), PAYMENTS);
    const payPis = Array.from({ length: PAYMENTS }, (_, i) => newPayment(fake, payCustomers[i % payCustomers.length]!));
    let payRun = { latencies: [] as number[], seconds: 0 };
    const payCpuBefore = cpuNow();
    const payRequests = await requestsDuring(async () => {
      payRun = await closedLoop(PAYMENTS, CONCURRENCY, async (i) => {
        const outcome = await (await startOrAttachPayment({ client, taskQueue: TASK_QUEUE }, payPis[i]!, 'bench')).result();
        if (outcome.status !== 'credited') throw new Error(`bench: ${payPis[i]} ended ${outcome.status}`);
      });
    });
    const payCpu = cpuMsPer(payCpuBefore, cpuNow(), PAYMENTS);
    const history = Math.max(...(await Promise.all(payPis.slice(0, 5).map(async (pi) => (await client.workflow.getHandle(pi).describe()).historyLength))));
    const naivePerSecond = round1(PAYMENTS / naiveRun.seconds);
    const payPerSecond = round1(PAYMENTS / payRun.seconds);
    rows.push({ figure: `credited payments/s (${PAYMENTS}, ${CONCURRENCY} in flight)`, naive: naivePerSecond, payconfirm: payPerSecond, 'payconfirm ÷ naive': ratio(payPerSecond, naivePerSecond), goal: '≥ 100/s' });
    rows.push({ figure: 'history events per credited payment', naive: '—', payconfirm: history, 'payconfirm ÷ naive': '—', goal: '≤ 15' });
    rows.push(requestsRow('Stripe requests per credited payment (webhook-started)', naiveRequests, payRequests, PAYMENTS));
    if (naiveCpu && payCpu) {
      const naiveTotal = round1(naiveCpu.naive! + naiveCpu.postgres! + naiveCpu.bench!);
      const payTotal = round1(payCpu.temporal! + payCpu.worker! + payCpu.api! + payCpu.postgres! + payCpu.bench!);
      rows.push({ figure: 'CPU ms per credited payment, all processes', naive: naiveTotal, payconfirm: payTotal, 'payconfirm ÷ naive': ratio(payTotal, naiveTotal), goal: '' });
      rows.push({
        figure: '  of which',
        naive: `handler ${naiveCpu.naive}, postgres ${naiveCpu.postgres}, bench ${naiveCpu.bench}`,
        payconfirm: `temporal ${payCpu.temporal}, worker ${payCpu.worker}, api ${payCpu.api}, postgres ${payCpu.postgres}, bench ${payCpu.bench}`,
        'payconfirm ÷ naive': '—',
        goal: 'bench: load, client, fake Stripe',
      });
    }
  }

  // 2. Confirm, one at a time.
  if (PARTS.has('confirm')) {
    const confirmOne = async (url: string, body: unknown, headers: Record<string, string>) => {
      const t0 = performance.now();
      const res = await postJson(url, body, headers);
      if (res.status !== 200) throw new Error(`bench: confirm answered ${res.status} ${JSON.stringify(res.body)}`);
      return performance.now() - t0;
    };
    const naiveConfirm: number[] = [];
    const naiveConfirmRequests = await requestsDuring(async () => {
      for (let i = 0; i < CONFIRMS; i++) naiveConfirm.push(await confirmOne(`${naiveUrl}/confirm`, { payment_intent_id: newPayment(fake, naiveCustomers[0]!) }, {}));
    });
    const payConfirm: number[] = [];
    const payConfirmRequests = await requestsDuring(async () => {
      for (let i = 0; i < CONFIRMS; i++) {
        const c = payCustomers[i % payCustomers.length]!;
        payConfirm.push(await confirmOne(`${apiUrl}/billing/confirm_payment`, { payment_intent_id: newPayment(fake, c) }, { authorization: `Bearer ${c.apiKey}` }));
      }
    });
    for (const p of [0.5, 0.95] as const) {
      const n = percentile(naiveConfirm, p);
      const q = percentile(payConfirm, p);
      rows.push({ figure: `confirm one at a time, p${p * 100} ms`, naive: n, payconfirm: q, 'payconfirm ÷ naive': ratio(q, n), goal: p === 0.5 ? '≤ 3× naive' : '' });
    }
    rows.push(requestsRow('Stripe requests per confirmed payment', naiveConfirmRequests, payConfirmRequests, CONFIRMS));
  }

  // 3. Webhook acknowledgement at RATE/s for SECONDS s, 20 % duplicates, while the backlog drains (open loop).
  const deliveries = (cs: Customer[]) => {
    const total = RATE * SECONDS;
    const bodies: string[] = [];
    const pis: string[] = [];
    for (let i = 0; i < total; i++) {
      if (i % 5 === 4) bodies.push(bodies[i - 2]!); // a redelivery of an event sent just before
      else {
        const { pi, body } = succeededEventOf(fake, cs[i % cs.length]!);
        pis.push(pi);
        bodies.push(body);
      }
    }
    return { bodies, pis };
  };
  if (PARTS.has('ack')) {
    const naiveBurst = deliveries(naiveCustomers);
    const naiveAcks = await openLoop(naiveBurst.bodies.length, RATE, async (i) => {
      if ((await deliver(naiveUrl, naiveBurst.bodies[i]!)) !== 200) throw new Error('bench: naive delivery failed');
    });
    const payBurst = deliveries(payCustomers);
    const drainBegan = performance.now();
    const payAcks = await openLoop(payBurst.bodies.length, RATE, async (i) => {
      const status = await deliver(apiUrl, payBurst.bodies[i]!);
      if (status !== 200) throw new Error(`bench: delivery answered ${status}`);
    });
    await until(async () => (await credits(pool, payBurst.pis)) === payBurst.pis.length, 'burst credited');
    const burstDrainSeconds = (performance.now() - drainBegan) / 1000;
    for (const p of [0.5, 0.99] as const) {
      const n = percentile(naiveAcks, p);
      const q = percentile(payAcks, p);
      rows.push({ figure: `webhook ack p${p * 100} ms at ${RATE}/s, backlog draining`, naive: n, payconfirm: q, 'payconfirm ÷ naive': ratio(q, n), goal: p === 0.99 ? '≤ 2× naive' : '' });
    }
    rows.push({ figure: `  ${payBurst.pis.length} payments credited after`, naive: 'inline', payconfirm: `${round1(burstDrainSeconds)} s`, 'payconfirm ÷ naive': '—', goal: '' });
  }

  // 4. Confirm while BACKLOG webhook-started payments drain.
  if (PARTS.has('drain')) {
    const backlogBodies: string[] = [];
    const backlogPis: string[] = [];
    while (backlogPis.length < BACKLOG) {
      const { pi, body } = succeededEventOf(fake, payCustomers[backlogPis.length % payCustomers.length]!);
      backlogPis.push(pi);
      backlogBodies.push(body);
    }
    const backlogBegan = performance.now();
    await closedLoop(backlogBodies.length, CONCURRENCY, async (i) => {
      if ((await deliver(apiUrl, backlogBodies[i]!)) !== 200) throw new Error('bench: backlog delivery failed');
    });
    const during: number[] = [];
    const answers = new Map<string, number>();
    for (let i = 0; i < 20; i++) {
      const c = payCustomers[i % payCustomers.length]!;
      const t0 = performance.now();
      const res = await postJson(`${apiUrl}/billing/confirm_payment`, { payment_intent_id: newPayment(fake, c) }, { authorization: `Bearer ${c.apiKey}` });
      during.push(performance.now() - t0);
      const key = `${res.status} ${String(res.body.status ?? (res.body.error as { code?: string } | undefined)?.code)}`;
      answers.set(key, (answers.get(key) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 250));
    }
    const backlogLeft = BACKLOG - (await credits(pool, backlogPis));
    await until(async () => (await credits(pool, backlogPis)) === BACKLOG, 'backlog credited');
    const backlogSeconds = (performance.now() - backlogBegan) / 1000;
    rows.push({
      figure: `confirm while ${BACKLOG} webhook payments drain: p50 / p95 / max ms`,
      naive: '—',
      payconfirm: `${percentile(during, 0.5)} / ${percentile(during, 0.95)} / ${Math.round(Math.max(...during))}`,
      'payconfirm ÷ naive': '—',
      goal: 'credited within CONFIRM_WAIT_MS',
    });
    rows.push({ figure: '  their answers', naive: '—', payconfirm: [...answers].map(([k, v]) => `${v}× ${k}`).join(', '), 'payconfirm ÷ naive': '—', goal: 'never 503' });
    rows.push({
      figure: `  backlog: left when the confirms ended / drained at`,
      naive: '—',
      payconfirm: `${backlogLeft} / ${round1(BACKLOG / backlogSeconds)} payments/s`,
      'payconfirm ÷ naive': '—',
      goal: '',
    });
  }

  console.log(
    `\npayconfirm vs a naive inline handler — ${new Date().toISOString()}, ${(await import('node:os')).cpus().length} cores, fake Stripe in-process, ` +
      `worker nice ${WORKER_NICE}, Temporal nice ${values['temporal-nice']}, relay pace ${RELAY_PACE}/s, transfer-queue reads ${values['transfer-reads']}/s${values['temporal-config'] ? `, dynamic config ${values['temporal-config']}` : ''}\n`,
  );
  console.table(rows);
  await naivePool.end();
  await pool.end();
  await client.connection.close();
} finally {
  for (const child of children.reverse()) await child.stop();
  await fake.close();
  await temporal.stop();
  await postgres.stop();
  rmSync(dir, { recursive: true, force: true });
}
