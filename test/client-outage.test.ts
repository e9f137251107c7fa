import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { PayconfirmClient } from 'payconfirm/client';
import { freePort } from '../src/dev/free-port.js';
import { startTemporalDevServer, type TemporalDevServer, type TemporalDevServerOptions } from '../src/dev/temporal-dev-server.js';
import { connectClient } from '../src/temporal/connection.js';
import { eventually } from './support/eventually.js';
import { startFakeStripe, type FakeStripe } from './support/fake-stripe/index.js';
import { moneyFor, newCustomer, newPaymentIntent } from './support/payment-fixtures.js';
import { callApi, startTestApi, type TestApi } from './support/test-api.js';
import { createTestContext, startTestWorkers, stripeClientFor, type RunningWorkers, type TestContext } from './support/test-context.js';

/**
 * Temporal goes away under the API and comes back: the API answers 503 temporal_unavailable and the
 * client retries through it. This file runs its own Temporal dev server (SQLite file, so a restart
 * keeps its state), since it stops it.
 */

let dir: string;
let temporalOptions: TemporalDevServerOptions;
let temporal: TemporalDevServer | undefined;
let ctx: TestContext;
let fake: FakeStripe;
let workers: RunningWorkers;
let api: TestApi;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'payconfirm-client-outage-'));
  temporalOptions = {
    cliPath: inject('temporalCliPath'),
    port: await freePort(),
    dbFile: join(dir, 'temporal.db'),
    logFile: join(dir, 'temporal.log'),
  };
  temporal = await startTemporalDevServer(temporalOptions);
  // The run's Postgres (own schema), but this file's Temporal.
  const shared = await createTestContext('client-outage');
  const own = await connectClient({ address: temporal.address, namespace: 'default' });
  ctx = {
    ...shared,
    temporalAddress: temporal.address,
    connection: own.connection,
    client: own.client,
    async close() {
      await own.connection.close();
      await shared.close();
    },
  };
  fake = await startFakeStripe();
  workers = await startTestWorkers(ctx, { stripe: stripeClientFor(fake.url) });
  api = await startTestApi(ctx, { stripe: stripeClientFor(fake.url), confirmWaitMs: 10_000 });
});
afterAll(async () => {
  await api?.close();
  await workers?.stop();
  await fake?.close();
  await ctx?.close();
  await temporal?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Temporal stopped, then back', () => {
  it('the API answers 503 temporal_unavailable; confirmPayment retries through the outage and credits once', async () => {
    const c = await newCustomer(ctx, fake);
    const statuses: number[] = [];
    const client = new PayconfirmClient({
      baseUrl: api.url,
      apiKey: c.apiKey,
      // The server asks for 5 s between attempts and each attempt may take its 5 s Temporal deadline:
      // 12 attempts span a minute, far more than a restart takes.
      retry: { maxAttempts: 12, baseDelayMs: 200, maxDelayMs: 2_000 },
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        statuses.push(response.status);
        return response;
      },
    });
    // Works while Temporal is up.
    const before = newPaymentIntent(fake, c.customerId, { amount: 100 });
    expect(await client.confirmPayment(before)).toMatchObject({ status: 'credited' });

    await temporal!.stop();
    temporal = undefined;
    const pi = newPaymentIntent(fake, c.customerId, { amount: 7_700 });
    const confirming = client.confirmPayment(pi);
    confirming.catch(() => {}); // asserted below

    const direct = await callApi(api.url, 'POST', '/billing/confirm_payment', { apiKey: c.apiKey, body: { payment_intent_id: pi } });
    expect(direct.status).toBe(503);
    expect(direct.body.error).toMatchObject({ code: 'temporal_unavailable', request_id: expect.any(String) });
    expect(direct.headers.get('retry-after')).toBe('5');
    await eventually(async () => statuses.includes(503), Boolean, { description: 'the client saw a 503' });

    temporal = await startTemporalDevServer(temporalOptions);
    const result = await confirming;

    expect(result).toMatchObject({ status: 'credited', paymentIntentId: pi, amountMinor: 7_700 });
    expect(statuses[0]).toBe(200);
    expect(statuses.slice(1, -1).every((status) => status === 503)).toBe(true);
    expect(statuses.length).toBeGreaterThanOrEqual(3);
    expect(statuses.at(-1)).toBe(200);
    const money = await moneyFor(ctx, fake, pi, c.customerId);
    expect(money.ledgerCredits).toHaveLength(1);
    expect(money.stripeCredits).toHaveLength(1);
    expect(await client.getBalance()).toMatchObject({ balances: [{ currency: 'usd', amountMinor: 7_800 }] });
  });
});
