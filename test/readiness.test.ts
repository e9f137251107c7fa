import { Connection } from '@temporalio/client';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateUp } from '../src/db/migrate.js';
import { createPool, type Pool } from '../src/db/pool.js';
import { startEmbeddedPostgres, type RunningPostgres } from '../src/dev/embedded-postgres.js';
import { freePort } from '../src/dev/free-port.js';
import { startFakeStripe, type FakeStripe } from './support/fake-stripe/index.js';
import { callApi, startTestApi, type TestApi } from './support/test-api.js';
import { createTestContext, stripeClientFor, type TestContext } from './support/test-context.js';

/** /readyz against a Postgres this file owns, so it can really stop it. */
const dataDir = mkdtempSync(join(tmpdir(), 'payconfirm-readyz-'));
let ctx: TestContext;
let fake: FakeStripe;
let port: number;
let postgres: RunningPostgres;
let pool: Pool;
let api: TestApi;

beforeAll(async () => {
  ctx = await createTestContext('readiness');
  fake = await startFakeStripe();
  port = await freePort();
  postgres = await startEmbeddedPostgres({ dataDir: join(dataDir, 'pg'), port });
  await migrateUp({ url: postgres.url });
  pool = createPool({ url: postgres.url });
  api = await startTestApi({ ...ctx, pool }, { stripe: stripeClientFor(fake.url) });
});
afterAll(async () => {
  await api?.close();
  await pool?.end();
  await postgres?.stop();
  await fake?.close();
  await ctx?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('GET /readyz', () => {
  it('answers 200 with both backends up, 503 naming Postgres while it is stopped, and 200 again once it is back', async () => {
    expect(await callApi(api.url, 'GET', '/readyz')).toMatchObject({ status: 200, body: { status: 'ready', checks: { postgres: 'ok', temporal: 'ok' } } });

    await postgres.stop();
    const down = await callApi(api.url, 'GET', '/readyz');
    expect(down).toMatchObject({ status: 503, body: { status: 'not_ready', checks: { postgres: 'unreachable', temporal: 'ok' } } });
    expect((await callApi(api.url, 'GET', '/healthz')).status).toBe(200); // the process itself is fine

    postgres = await startEmbeddedPostgres({ dataDir: join(dataDir, 'pg'), port });
    expect(await callApi(api.url, 'GET', '/readyz')).toMatchObject({ status: 200, body: { checks: { postgres: 'ok' } } });
  });

  it('answers 503 naming Temporal when Temporal is unreachable', async () => {
    const nowhere = Connection.lazy({ address: `127.0.0.1:${await freePort()}`, connectTimeout: 500 });
    const cut = await startTestApi({ ...ctx, pool, connection: nowhere }, { stripe: stripeClientFor(fake.url) });
    try {
      expect(await callApi(cut.url, 'GET', '/readyz')).toMatchObject({ status: 503, body: { checks: { postgres: 'ok', temporal: 'unreachable' } } });
    } finally {
      await cut.close();
      await nowhere.close();
    }
  });
});
