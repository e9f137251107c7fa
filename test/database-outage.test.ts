import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDatabaseOutage } from '../src/db/database-unavailable.js';
import { createPool, type Pool } from '../src/db/pool.js';
import { eventually } from './support/eventually.js';
import { startFakeStripe, type FakeStripe } from './support/fake-stripe/index.js';
import { newCustomer } from './support/payment-fixtures.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';
import { callApi, startTestApi, type TestApi } from './support/test-api.js';
import { createTestContext, stripeClientFor, type TestContext } from './support/test-context.js';

/**
 * Postgres out of reach, on the real stack: the API's pool goes through a TCP proxy to the run's Postgres, and the
 * test cuts it (open connections destroyed, new ones reset), as a network path failing would. The API answers 503
 * `database_unavailable` with Retry-After and nothing of the cause; once the path is back, it answers 200 again.
 * The process survives its clients' connection errors, checked out or idle.
 */
let ctx: TestContext;
let fake: FakeStripe;
let proxy: TcpProxy;
let proxiedPool: Pool;
let api: TestApi;

beforeAll(async () => {
  ctx = await createTestContext('database-outage');
  fake = await startFakeStripe();
  const url = new URL(ctx.databaseUrl);
  proxy = await startTcpProxy(`${url.hostname}:${url.port || 5432}`);
  url.host = proxy.address;
  proxiedPool = createPool({ url: url.toString(), schema: ctx.schema, max: 5, application: 'test-database-outage' });
  api = await startTestApi({ ...ctx, pool: proxiedPool }, { stripe: stripeClientFor(fake.url) });
});
afterAll(async () => {
  await api?.close();
  await proxiedPool?.end();
  await proxy?.close();
  await fake?.close();
  await ctx?.close();
});

const balance = (apiKey: string) => callApi(api.url, 'GET', '/accounts/me/balance', { apiKey });

describe('Postgres unreachable: 503 database_unavailable, then back to 200', () => {
  it('answers 503 with Retry-After: 5 and a JSON error that tells nothing of the cause; 200 once restored', async () => {
    const c = await newCustomer(ctx, fake);
    expect((await balance(c.apiKey)).status).toBe(200);

    proxy.cut();
    try {
      const refused = await balance(c.apiKey);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect(refused.headers.get('content-type')).toMatch(/^application\/json/);
      expect(refused.body).toEqual({ error: { code: 'database_unavailable', message: expect.any(String), request_id: expect.any(String) } });
      const text = JSON.stringify(refused.body);
      for (const internal of ['ECONN', 'Connection terminated', '127.0.0.1', proxy.address.split(':')[1]!, 'postgres', 'stack', ' at ']) {
        expect(text).not.toContain(internal);
      }
    } finally {
      proxy.restore();
    }
    await eventually(() => balance(c.apiKey), (r) => r.status === 200, { description: 'the API answers 200 again' });
  });

  it("a checked-out client's connection dropping does not crash the process; its next statement is an outage", async () => {
    const client = await proxiedPool.connect();
    let released = false;
    try {
      await client.query('SELECT 1');
      // 'end' follows the client's 'error' event; the test adds no 'error' listener of its own: without the pool's,
      // that event would be thrown as an uncaught exception (the run reports it and fails).
      const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
      proxy.cut();
      await ended;
      const next = await client.query('SELECT 1').then(
        () => null,
        (err: unknown) => err,
      );
      expect(isDatabaseOutage(next)).toBe(true);
      client.release(next as Error);
      released = true;
    } finally {
      if (!released) client.release(true);
      proxy.restore();
    }
    await eventually(() => proxiedPool.query<{ one: number }>('SELECT 1 AS one').then((r) => r.rows[0]!.one, () => 0), (one) => one === 1, { description: 'the pool connects again' });
  });
});

describe('isDatabaseOutage: what counts as Postgres out of reach', () => {
  const dbError = (code: string) => Object.assign(new pg.DatabaseError('x', 1, 'error'), { code });

  it('SQLSTATE class 08, 57P01–57P03, class 53 and statement timeouts; socket errors; pool and connection timeouts', () => {
    for (const code of ['08006', '08001', '08P01', '57P01', '57P02', '57P03', '53300', '57014']) expect(isDatabaseOutage(dbError(code)), code).toBe(true);
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH']) expect(isDatabaseOutage(Object.assign(new Error('x'), { code })), code).toBe(true);
    expect(isDatabaseOutage(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isDatabaseOutage(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDatabaseOutage(new Error('Connection terminated due to connection timeout', { cause: new Error('timeout expired') }))).toBe(true);
    expect(isDatabaseOutage(new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]))).toBe(true);
  });

  it('not an outage: a statement the server refused (constraint, syntax, lock timeout), a bug, a non-error', () => {
    for (const code of ['23505', '23514', '42601', '42P01', '55P03', '40001', 'P0001']) expect(isDatabaseOutage(dbError(code)), code).toBe(false);
    expect(isDatabaseOutage(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBe(false);
    expect(isDatabaseOutage(new Error('Cannot use a pool after calling end on the pool'))).toBe(false);
    expect(isDatabaseOutage('ECONNREFUSED')).toBe(false);
    expect(isDatabaseOutage(undefined)).toBe(false);
  });
});
