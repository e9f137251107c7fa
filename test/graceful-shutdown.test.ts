import { temporal } from '@temporalio/proto';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/dev/free-port.js';
import { projectRoot } from '../src/runtime/project-paths.js';
import { completedPassesOf } from './support/history-events.js';
import { startOrAttachPayment } from '../src/temporal/payment-workflow-client.js';
import { startFakeStripe, type FakeStripe } from './support/fake-stripe/index.js';
import { eventually } from './support/eventually.js';
import { newCustomer, newPaymentIntent } from './support/payment-fixtures.js';
import { callApi } from './support/test-api.js';
import { createTestContext, startTestWorkers, stripeClientFor, TEST_TUNING, type RunningWorkers, type TestContext } from './support/test-context.js';
import { serviceEnv, startWorkerProcess } from './support/worker-process.js';

const { EventType } = temporal.api.enums.v1;

/**
 * SIGTERM on the real entry points, as an orchestrator sends it: the API stops accepting connections but
 * answers the requests it holds; the worker stops polling but lets its running activity finish.
 */
let ctx: TestContext;
let fake: FakeStripe;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  ctx = await createTestContext('graceful-shutdown');
  fake = await startFakeStripe();
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  await fake?.close();
  await ctx?.close();
});

/** `src/api/main.ts` as a child process on `port`, against this file's schema, task queue and fake Stripe. */
function spawnApi(port: number) {
  const child = spawn(process.execPath, ['--import', 'tsx', join('src', 'api', 'main.ts')], {
    cwd: projectRoot(),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: serviceEnv(ctx, {
      STRIPE_API_BASE: fake.url,
      PORT: String(port),
      CONFIRM_WAIT_MS: '15000',
      // The held Stripe read must outlast the wait for SIGTERM's effect, however loaded the machine is.
      STRIPE_TIMEOUT_MS: '60000',
      SHUTDOWN_GRACE_MS: '60000', // drain, however loaded the machine is; the test asserts the answer arrives in full
      LOG_LEVEL: 'info',
    }),
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  cleanups.push(async () => (child.exitCode === null && child.signalCode === null ? (child.kill('SIGKILL'), exited) : exited));
  return { child, exited, output: () => output };
}

const refusesConnections = (url: string) =>
  fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) }).then(
    () => false,
    () => true,
  );

describe('graceful shutdown on SIGTERM', () => {
  it('API: a confirm in flight is answered in full; new connections are refused; exit code 0', async () => {
    // In-process workers run this payment; stopped at the end so the next test's child worker is alone.
    const workers: RunningWorkers = await startTestWorkers(ctx, { stripe: stripeClientFor(fake.url) });
    try {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const api = spawnApi(port);
      await eventually(() => callApi(url, 'GET', '/healthz').then((r) => r.status), (s) => s === 200, { timeoutMs: 60_000, description: `API up:\n${api.output()}` });

      const c = await newCustomer(ctx, fake);
      const pi = newPaymentIntent(fake, c.customerId, { amount: 5_000 });
      // The API's own read of the PaymentIntent is held by the fake: the request is in flight.
      const hold = fake.faults.add({ kind: 'timeout', method: 'GET', path: `/v1/payment_intents/${pi}` });
      const inFlight = callApi(url, 'POST', '/billing/confirm_payment', { apiKey: c.apiKey, body: { payment_intent_id: pi } });
      await eventually(async () => hold.held, (n) => n === 1, { description: 'confirm request held at Stripe' });

      api.child.kill('SIGTERM');
      await eventually(() => refusesConnections(url), Boolean, { description: 'API stops accepting connections' }).catch((err: Error) => {
        throw new Error(`${err.message}\nthe API's output:\n${api.output()}`);
      });
      hold.release();

      const answer = await inFlight;
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body).toMatchObject({ status: 'credited', payment_intent_id: pi, amount_minor: 5_000 });
      expect(await api.exited).toEqual({ code: 0, signal: null });
      expect(api.output()).toContain('shutting down: draining requests');
      expect(api.output()).toContain('api stopped');
    } finally {
      await workers.stop();
    }
  });

  it('worker: its running pass (a local activity, Stripe call held) completes and is recorded before it exits; it serves /metrics with its own and Temporal\'s metrics', async () => {
    const metricsPort = await freePort();
    const temporalMetricsPort = await freePort();
    // worker-process.ts passes the parent's environment through (minus payconfirm's own backends).
    process.env.WORKER_METRICS_PORT = String(metricsPort);
    process.env.WORKER_METRICS_ADDRESS = `127.0.0.1:${temporalMetricsPort}`;
    const worker = await startWorkerProcess(ctx, { stripeApiBase: fake.url, logLevel: 'info' }).finally(() => {
      delete process.env.WORKER_METRICS_PORT;
      delete process.env.WORKER_METRICS_ADDRESS;
    });
    cleanups.push(() => worker.kill());

    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { amount: 2_200 });
    const hold = fake.faults.add({ kind: 'timeout', method: 'GET', path: `/v1/payment_intents/${pi}` });
    const handle = await startOrAttachPayment({ client: ctx.client, taskQueue: ctx.taskQueue, tuning: TEST_TUNING }, pi, `shutdown ${pi}`);
    await eventually(async () => hold.held, (n) => n === 1, { description: 'the Stripe read of the payment held at Stripe' });

    const scraped = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text());
    expect(scraped).toContain('# TYPE payconfirm_stripe_calls_total counter');
    expect(scraped).toContain('payconfirm_process_cpu_user_seconds_total');
    // STRIPE_RATE_LIMIT_PER_SECOND and STRIPE_OPERATION_RATE_LIMIT_PER_SECOND are unset in the child and its key is a
    // test key: Stripe's sandbox limits, 25 requests/s for the account and for each operation.
    expect(scraped).toContain('payconfirm_stripe_budget_requests_per_second{scope="account"} 25\n');
    expect(scraped).toContain('payconfirm_stripe_budget_requests_per_second{scope="operation"} 25\n');
    expect(scraped).toMatch(/^temporal_\w+/m); // the Temporal runtime's own worker metrics, same scrape
    expect(await fetch(`http://127.0.0.1:${temporalMetricsPort}/metrics`).then((r) => r.text())).toMatch(/^temporal_\w+/m);

    process.kill(worker.pid, 'SIGTERM');
    await eventually(async () => worker.output(), (out) => out.includes('shutting down: draining tasks'), { description: 'worker draining' });
    hold.release();
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(worker.output()).toContain('worker stopped');

    // The held attempt was answered and recorded as completed, not cut off and retried.
    expect(fake.requestsTo('GET', `/v1/payment_intents/${pi}`).map((r) => r.status)).toEqual([200]);
    const history = await handle.fetchHistory();
    const types = (history.events ?? []).map((e) => e.eventType);
    // The pass is a local activity: its result is in the workflow task the draining worker completed.
    expect(completedPassesOf(history)).toBe(1);
    expect(types.filter((t) => t === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED || t === EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT)).toEqual([]);

    // Another worker takes over the rest of the payment.
    const workers = await startTestWorkers(ctx, { stripe: stripeClientFor(fake.url) });
    cleanups.push(() => workers.stop());
    expect(await handle.result()).toMatchObject({ status: 'credited' });
  });
});
