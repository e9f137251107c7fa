import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookRoutes } from '../src/api/routes/webhook-routes.js';
import { startApi } from '../src/api/start-api.js';
import { loadConfig, requireBackends } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { createMetrics, type Metrics } from '../src/metrics.js';
import { cachedFor } from '../src/state-gauges.js';
import { stripeEndpoint } from '../src/stripe/stripe-endpoint.js';
import { createStripeRequestBudget } from '../src/stripe/stripe-request-budget.js';
import type { StripeClient } from '../src/stripe/stripe-client.js';
import { startFakeStripe, type FakeStripe } from './support/fake-stripe/index.js';
import { newCustomer, newPaymentIntent } from './support/payment-fixtures.js';
import { callApi, startTestApi, TEST_WEBHOOK_SECRET, type TestApi } from './support/test-api.js';
import { createTestContext, startTestWorkers, stripeClientFor, type RunningWorkers, type TestContext } from './support/test-context.js';

/**
 * What an operator sees of real traffic: `GET /metrics` counters that move with it, and JSON log lines that
 * tie each request to its payment without ever carrying a secret. API and workers share one registry here,
 * as they do in the dev stack (separate processes each serve their own: the API's on METRICS_HOST:METRICS_PORT, apart
 * from its port; the worker's on WORKER_METRICS_PORT).
 */
let ctx: TestContext;
let fake: FakeStripe;
let stripe: StripeClient;
let metrics: Metrics;
let workers: RunningWorkers;
let api: TestApi;
const logLines: string[] = [];

beforeAll(async () => {
  ctx = await createTestContext('observability');
  fake = await startFakeStripe();
  stripe = stripeClientFor(fake.url);
  metrics = createMetrics();
  workers = await startTestWorkers(ctx, { stripe, metrics });
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  api = await startTestApi(ctx, {
    stripe,
    metrics,
    confirmWaitMs: 10_000,
    logger: createLogger({ level: 'info', destination }),
    extraRoutes: (deps) => [webhookRoutes(deps)],
  });
});
afterAll(async () => {
  await api?.close();
  await workers?.stop();
  await fake?.close();
  await ctx?.close();
});

type Samples = Map<string, number>;

/** Parses Prometheus text exposition into `name{k="v",…}` → value, labels sorted by name. */
function parseMetrics(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) continue;
    const labels = [...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => `${k}="${v}"`).sort();
    samples.set(`${m[1]}{${labels.join(',')}}`, Number(m[3]));
  }
  return samples;
}

async function scrape(): Promise<Samples> {
  const res = await fetch(api.metricsUrl);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  return parseMetrics(await res.text());
}

/** Sum of the samples of `name` whose labels include all of `labels`. */
function total(samples: Samples, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let sum = 0;
  for (const [key, value] of samples) {
    const open = key.indexOf('{');
    if (key.slice(0, open) !== name) continue;
    const have = key.slice(open + 1, -1).split(',');
    if (wanted.every((w) => have.includes(w))) sum += value;
  }
  return sum;
}

const confirm = (apiKey: string, paymentIntentId: string) =>
  callApi(api.url, 'POST', '/billing/confirm_payment', { apiKey, body: { payment_intent_id: paymentIntentId } });

const postWebhook = (payload: string, signature: string) =>
  callApi(api.url, 'POST', '/webhooks/stripe', { rawBody: payload, headers: { 'stripe-signature': signature } });

describe('GET /metrics moves with the traffic', () => {
  it('confirm answers, credits, Stripe calls by endpoint and status, duplicates stopped, workflow start latency', async () => {
    const before = await scrape();
    const requestsBefore = fake.requests.length;
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { amount: 3_100 });

    expect((await confirm(c.apiKey, pi)).body.status).toBe('credited');
    expect((await confirm(c.apiKey, pi)).body.status).toBe('already_credited');
    expect((await confirm(c.apiKey, 'pi_doesNotExist123')).status).toBe(404);

    const after = await scrape();
    const moved = (name: string, labels: Record<string, string> = {}) => total(after, name, labels) - total(before, name, labels);

    expect(moved('payconfirm_confirm_answers_total', { http_status: '200', status: 'credited' })).toBe(1);
    expect(moved('payconfirm_confirm_answers_total', { http_status: '200', status: 'already_credited' })).toBe(1);
    expect(moved('payconfirm_confirm_answers_total', { http_status: '404' })).toBe(1);
    expect(moved('payconfirm_ledger_credits_total', { result: 'created' })).toBe(1);
    expect(moved('payconfirm_duplicates_stopped_total', { guard: 'ledger_key' })).toBe(1);
    expect(moved('payconfirm_workflow_start_seconds_count', { workflow: 'payment' })).toBe(1);
    expect(moved('payconfirm_workflow_start_seconds_sum', { workflow: 'payment' })).toBeGreaterThan(0);

    // Every request the fake received is counted once, under its normalised endpoint and status.
    const calls = (endpoint: string, status: string) => moved('payconfirm_stripe_calls_total', { endpoint, status });
    expect(calls('GET /v1/payment_intents/:id', '200')).toBe(fake.requestsTo('GET', `/v1/payment_intents/${pi}`).length);
    expect(calls('GET /v1/payment_intents/:id', '404')).toBe(1);
    // The credit's ledger row was written by this run: no earlier attempt can have mirrored it, so no lookup.
    expect(calls('GET /v1/customers/:id/balance_transactions', '200')).toBe(0);
    expect(calls('POST /v1/customers/:id/balance_transactions', '200')).toBe(1);
    expect(calls('POST /v1/payment_intents/:id', '200')).toBe(1);
    expect(moved('payconfirm_stripe_calls_total')).toBe(fake.requests.length - requestsBefore);
    // No caller-supplied id ever becomes a label.
    expect([...after.keys()].filter((k) => k.includes('pi_') || k.includes('cus_'))).toEqual([]);
  });

  it('a Stripe call that gets no answer is counted as `network`; the retry is stopped by a Stripe-side guard', async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId);
    const before = await scrape();
    fake.faults.add({ kind: 'lost_response', method: 'POST', path: `/v1/customers/${c.customerId}/balance_transactions` });

    expect((await confirm(c.apiKey, pi)).body.status).toBe('credited');

    const after = await scrape();
    const moved = (name: string, labels: Record<string, string> = {}) => total(after, name, labels) - total(before, name, labels);
    expect(moved('payconfirm_stripe_calls_total', { endpoint: 'POST /v1/customers/:id/balance_transactions', status: 'network' })).toBe(1);
    expect(fake.balanceTransactions(c.customerId)).toHaveLength(1);
    // The SDK's own resend replays under the Idempotency-Key, or the activity's retry finds it by lookup.
    expect(moved('payconfirm_duplicates_stopped_total', { guard: 'stripe_idempotency' }) + moved('payconfirm_duplicates_stopped_total', { guard: 'stripe_lookup' })).toBeGreaterThanOrEqual(1);
  });

  it('webhook deliveries by event type and outcome, and the inbox guard', async () => {
    const before = await scrape();
    const c = await newCustomer(ctx, fake);
    const event = fake.buildEvent('payment_intent.succeeded', fake.getPaymentIntent(newPaymentIntent(fake, c.customerId))!);
    const payload = JSON.stringify(event);
    const signature = stripe.webhooks.generateTestHeaderString({ payload, secret: TEST_WEBHOOK_SECRET });

    expect((await postWebhook(payload, signature)).body).toEqual({ received: true });
    expect((await postWebhook(payload, signature)).body).toEqual({ received: true, duplicate: true });
    expect((await postWebhook(payload, 't=1,v1=00')).status).toBe(400);

    const after = await scrape();
    const moved = (labels: Record<string, string>, name = 'payconfirm_webhook_deliveries_total') => total(after, name, labels) - total(before, name, labels);
    expect(moved({ event_type: 'payment_intent.succeeded', outcome: 'accepted' })).toBe(1);
    expect(moved({ event_type: 'payment_intent.succeeded', outcome: 'duplicate' })).toBe(1);
    expect(moved({ event_type: 'unknown', outcome: 'rejected_signature_invalid' }) + moved({ event_type: 'unknown', outcome: 'rejected_signature_stale' })).toBe(1);
    expect(moved({ guard: 'webhook_inbox' }, 'payconfirm_duplicates_stopped_total')).toBe(1);
  });
});

describe('structured logs', () => {
  const parsed = () => logLines.map((line) => JSON.parse(line) as Record<string, unknown>);

  it('a confirm is logged as JSON with its request id, account and payment intent — and never its API key', async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId);
    const res = await confirm(c.apiKey, pi);
    const requestId = res.headers.get('x-request-id');
    expect(requestId).toMatch(/^req_/);

    const lines = parsed().filter((l) => l.requestId === requestId);
    expect(lines.find((l) => l.msg === 'confirm_payment answered')).toMatchObject({
      level: 30,
      service: 'payconfirm',
      requestId,
      accountId: c.accountId,
      paymentIntentId: pi,
      answer: 'credited',
    });
    expect(lines.find((l) => l.msg === 'request')).toMatchObject({ method: 'POST', path: '/billing/confirm_payment', status: 200, requestId });
    expect(logLines.join('\n')).not.toContain(c.apiKey);
  });

  it('a webhook with a bad signature: logged with its request id and status, without the secret or the signature', async () => {
    const c = await newCustomer(ctx, fake);
    const payload = JSON.stringify(fake.buildEvent('payment_intent.succeeded', fake.getPaymentIntent(newPaymentIntent(fake, c.customerId))!));
    const forged = stripe.webhooks.generateTestHeaderString({ payload, secret: 'whsec_not_the_configured_one_0123456789' });
    const res = await postWebhook(payload, forged);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_signature');
    const requestId = res.headers.get('x-request-id');

    const lines = logLines.filter((l) => l.includes(String(requestId)));
    expect(lines.length).toBeGreaterThan(0);
    expect(parsed().find((l) => l.requestId === requestId && l.msg === 'request')).toMatchObject({ path: '/webhooks/stripe', status: 400 });
    const v1 = /v1=([0-9a-f]{64})/.exec(forged)![1]!;
    for (const line of logLines) {
      expect(line).not.toContain(TEST_WEBHOOK_SECRET);
      expect(line).not.toContain(v1);
    }
    expect(JSON.stringify(res.body)).not.toContain(v1);
  });

  it('whatever a log call carries, headers, secrets and keys come out redacted', () => {
    const captured: string[] = [];
    const log = createLogger({
      level: 'info',
      destination: new Writable({ write: (chunk: Buffer, _e, done) => (captured.push(chunk.toString()), done()) }),
    });
    const signature = `t=1700000000,v1=${'ab'.repeat(32)}`;
    log.warn(
      {
        req: { headers: { 'stripe-signature': signature, authorization: 'Bearer pcf_live_key_123' } },
        headers: { 'stripe-signature': signature },
        config: { webhookSecrets: [TEST_WEBHOOK_SECRET], secretKey: 'sk_live_abc123', databaseUrl: 'postgres://u:pw@db/x' },
        err: new Error(`Stripe said no to sk_test_abc123 with ${signature} and ${TEST_WEBHOOK_SECRET}`),
      },
      `webhook rejected for Bearer pcf_live_key_123 (${TEST_WEBHOOK_SECRET})`,
    );
    const line = captured.join('');
    for (const secret of [signature, 'ab'.repeat(32), 'pcf_live_key_123', TEST_WEBHOOK_SECRET, 'sk_live_abc123', 'sk_test_abc123', 'pw@db']) {
      expect(line).not.toContain(secret);
    }
    expect(JSON.parse(line)).toMatchObject({ level: 40, headers: { 'stripe-signature': '[redacted]' }, config: { secretKey: '[redacted]' } });
  });

  it('endpoint labels are bounded: ids and query strings never reach a label', () => {
    expect(stripeEndpoint('post', '/v1/customers/cus_Q1w2E3r4T5y6/balance_transactions')).toBe('POST /v1/customers/:id/balance_transactions');
    expect(stripeEndpoint('GET', '/v1/refunds?payment_intent=pi_123&limit=100')).toBe('GET /v1/refunds');
    expect(stripeEndpoint('GET', '/v1/payment_intents/pi_doesnotexist')).toBe('GET /v1/payment_intents/:id');
    expect(stripeEndpoint('GET', '/v1/payment_intents/search')).toBe('GET /v1/payment_intents/search');
    expect(stripeEndpoint('GET', '/v1/checkout/sessions/cs_test_a1B2')).toBe('GET /v1/checkout/sessions/:id');
    expect(stripeEndpoint('GET', '/v1/customers/%3Cscript%3E')).toBe('GET /v1/customers/:id');
  });
});

describe('GET /metrics on its own listener (METRICS_HOST, METRICS_PORT), state gauges cached', () => {
  const serviceConfig = (env: Record<string, string>) =>
    requireBackends(
      loadConfig({
        DATABASE_URL: ctx.databaseUrl,
        DATABASE_SCHEMA: ctx.schema,
        TEMPORAL_ADDRESS: ctx.temporalAddress,
        TEMPORAL_TASK_QUEUE: ctx.taskQueue,
        STRIPE_SECRET_KEY: 'sk_test_fake',
        STRIPE_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
        PORT: '0',
        ...env,
      }),
    );

  it('defaults: loopback, port 9465, a reading serves 15 s of scrapes; a bad value names its variable', () => {
    expect(loadConfig({}).metrics).toEqual({ host: '127.0.0.1', port: 9465, stateGaugesMaxAgeSeconds: 15 });
    expect(loadConfig({ METRICS_HOST: '0.0.0.0', METRICS_PORT: '0', STATE_GAUGES_MAX_AGE_SECONDS: '0' }).metrics).toEqual({ host: '0.0.0.0', port: 0, stateGaugesMaxAgeSeconds: 0 });
    expect(() => loadConfig({ METRICS_PORT: '70000' })).toThrow(/^METRICS_PORT /);
    expect(() => loadConfig({ METRICS_HOST: 'a b' })).toThrow(/^METRICS_HOST /);
    expect(() => loadConfig({ STATE_GAUGES_MAX_AGE_SECONDS: '-1' })).toThrow(/^STATE_GAUGES_MAX_AGE_SECONDS /);
  });

  it('the API process serves /metrics on loopback apart from its port (a 404 there); a scrape storm reads Postgres once per max age', async () => {
    let gaugeReadings = 0;
    // The real pool, counting the state gauges' statement (the one with a local statement_timeout).
    const pool = new Proxy(ctx.pool, {
      get(target, key) {
        if (key === 'query') {
          return (...args: Parameters<typeof target.query>) => {
            if (typeof args[0] === 'string' && args[0].startsWith('SET LOCAL statement_timeout')) gaugeReadings++;
            return (target.query as (...a: unknown[]) => unknown)(...args);
          };
        }
        const value = Reflect.get(target, key, target) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const config = serviceConfig({ METRICS_PORT: '0', STATE_GAUGES_MAX_AGE_SECONDS: '600' });
    const backends = {
      pool,
      stripe,
      stripeBudget: createStripeRequestBudget({ pool, limits: config.stripe.budget }),
      temporal: { connection: ctx.connection, client: ctx.client, namespace: 'default', taskQueue: ctx.taskQueue },
      close: async () => {},
    };
    const running = await startApi({ backends, config, logger: createLogger({ level: 'silent' }), metrics: createMetrics(), host: '127.0.0.1' });
    try {
      expect(running.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      expect(new URL(running.metricsUrl).port).not.toBe(new URL(running.url).port);

      const onApiPort = await callApi(running.url, 'GET', '/metrics');
      expect(onApiPort.status).toBe(404);
      expect(onApiPort.body).toMatchObject({ error: { code: expect.any(String) } });
      expect(JSON.stringify(onApiPort.body)).not.toContain('payconfirm_');

      const scrapeOnce = async () => {
        const res = await fetch(running.metricsUrl);
        expect(res.status).toBe(200);
        return res.text();
      };
      const storm = [...(await Promise.all(Array.from({ length: 10 }, scrapeOnce)))];
      for (let i = 0; i < 15; i++) storm.push(await scrapeOnce());
      for (const text of storm) expect(text).toMatch(/^payconfirm_webhook_inbox_dead_events \d+$/m);
      expect(gaugeReadings, '25 scrapes, one reading of the state gauges').toBe(1);
    } finally {
      await running.close();
    }
  });

  it('the cache: one reading in flight shared, reused until it is max age old, then read again', async () => {
    let clock = 0;
    let runs = 0;
    const read = cachedFor(async () => ++runs, 15_000, () => clock);
    expect(await Promise.all([read(), read(), read()])).toEqual([1, 1, 1]);
    clock = 14_999;
    expect(await read()).toBe(1);
    clock = 15_000;
    expect(await read()).toBe(2);
    const uncached = cachedFor(async () => ++runs, 0, () => clock);
    expect([await uncached(), await uncached()]).toEqual([3, 4]);
  });
});
