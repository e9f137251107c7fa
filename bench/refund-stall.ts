/**
 * One tenant stalls the others? (issue 19's measurement, repeated.) One account sends N refunds of 1 cent, fresh
 * keys, on its own credited payment, while Stripe takes HOLD seconds to answer refund creates; meanwhile another
 * account reads its balance over and over. Prints the bystander's read latency (p50/p95/max) during the stall, and
 * how the refunds were answered. The API has its own pool of 10, as in production. test/hostile-tenant.test.ts
 * asserts the counts (every bystander read 200); the times are here.
 *
 *   npx tsx bench/refund-stall.ts --refunds 40 --hold 8
 *   (TEMPORAL_ADDRESS / DATABASE_URL use running servers; otherwise a dev server and an embedded Postgres start.)
 *
 * Measured before the refund phases (issue 19): the bystander's read took 3.7 s and some refunds answered 500.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { UNLIMITED_ACCOUNT_BUDGETS } from '../src/api/account-budgets.js';
import type { ApiDeps } from '../src/api/api-deps.js';
import { createApp } from '../src/api/app.js';
import { listen } from '../src/api/http-server.js';
import { createStripeReadBudget } from '../src/api/stripe-read-budget.js';
import { createAccount } from '../src/db/accounts.js';
import { appendMovement } from '../src/db/ledger.js';
import { migrateUp } from '../src/db/migrate.js';
import { createPool } from '../src/db/pool.js';
import { startEmbeddedPostgres, type RunningPostgres } from '../src/dev/embedded-postgres.js';
import { freePort } from '../src/dev/free-port.js';
import { ensureTool, TEMPORAL_CLI } from '../src/dev/go-tools.js';
import { startTemporalDevServer, type TemporalDevServer } from '../src/dev/temporal-dev-server.js';
import { ledgerKeyForPaymentCredit } from '../src/domain/idempotency-keys.js';
import { createLogger } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';
import { SingleFlight } from '../src/runtime/single-flight.js';
import { createStripeClient } from '../src/stripe/stripe-client.js';
import { connectClient } from '../src/temporal/connection.js';
import { startFakeStripe } from '../test/support/fake-stripe/index.js';

const { values } = parseArgs({ options: { refunds: { type: 'string', default: '40' }, hold: { type: 'string', default: '8' } } });
const REFUNDS = Number(values.refunds);
const HOLD_MS = Number(values.hold) * 1_000;

const percentile = (sorted: number[], p: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!);

const dir = mkdtempSync(join(tmpdir(), 'payconfirm-bench-stall-'));
let postgres: RunningPostgres | undefined;
let temporal: TemporalDevServer | undefined;
const databaseUrl = process.env.DATABASE_URL ?? (postgres = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port: await freePort() })).url;
const temporalAddress =
  process.env.TEMPORAL_ADDRESS ??
  (temporal = await startTemporalDevServer({ cliPath: await ensureTool(TEMPORAL_CLI), port: await freePort(), dbFile: join(dir, 'temporal.db') })).address;
const fake = await startFakeStripe();
const schema = `bench_stall_${Math.random().toString(36).slice(2, 8)}`;
await migrateUp({ url: databaseUrl, schema });
const pool = createPool({ url: databaseUrl, schema, max: 10 });
const { connection, client } = await connectClient({ address: temporalAddress, namespace: 'default' });
try {
  const taskQueue = `bench-stall-${schema}`;
  const deps: ApiDeps = {
    pool,
    stripe: createStripeClient({ secretKey: fake.apiKey, apiBase: fake.url, timeoutMs: HOLD_MS + 10_000 }),
    temporal: { connection, client, namespace: 'default', taskQueue },
    payments: { client, taskQueue },
    logger: createLogger({ level: 'silent' }),
    metrics: createMetrics(),
    stripeReads: createStripeReadBudget(0),
    truthReads: new SingleFlight(),
    settings: {
      confirmWaitMs: 0,
      accountBudgets: UNLIMITED_ACCOUNT_BUDGETS,
      webhookSecrets: ['whsec_bench_stall'],
      webhookMaxBodyBytes: 1_048_576,
      moneyPolicy: { creditPaymentIntents: 'all', balanceMirror: 'on' },
      idempotency: { ttlHours: 24, leaseSeconds: 60 },
      stateGaugesMaxAgeMs: 0,
    },
  };
  const server = await listen(createApp(deps, []), 0, '127.0.0.1');
  const call = (key: string, path: string, init: RequestInit = {}) =>
    fetch(`${server.url}${path}`, { ...init, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...(init.headers as object) } });

  // The hostile account: a credited payment of 5,000 (booked directly; the workflow's credit is not what is measured).
  const hostileCustomer = fake.createCustomer({});
  const hostile = await createAccount(pool, { stripeCustomerId: hostileCustomer.id, name: 'hostile' });
  const pi = fake.createPaymentIntent({ amount: 5_000, currency: 'usd', customer: hostileCustomer.id, status: 'succeeded' }).id;
  await appendMovement(pool, hostile.account.id, { key: ledgerKeyForPaymentCredit(pi), kind: 'payment_credit', paymentIntentId: pi, amountMinor: 5_000, currency: 'usd', stripeObjectId: pi });
  const bystander = await createAccount(pool, { stripeCustomerId: fake.createCustomer({}).id, name: 'bystander' });

  fake.faults.add({ kind: 'timeout', method: 'POST', path: '/v1/refunds', holdMs: HOLD_MS, times: Infinity });
  const began = performance.now();
  const refunds = Array.from({ length: REFUNDS }, (_, i) =>
    call(hostile.apiKey, '/billing/refunds', { method: 'POST', body: JSON.stringify({ payment_intent_id: pi, amount_minor: 1 }), headers: { 'idempotency-key': `stall-${i}` } }).then((r) => r.status),
  );
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  while (performance.now() - began < HOLD_MS - 500) {
    const t = performance.now();
    const r = await call(bystander.apiKey, '/accounts/me/balance');
    await r.arrayBuffer();
    latencies.push(performance.now() - t);
    statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
  }
  const refundStatuses = new Map<number, number>();
  for (const s of await Promise.all(refunds)) refundStatuses.set(s, (refundStatuses.get(s) ?? 0) + 1);
  const sorted = [...latencies].sort((a, b) => a - b);
  console.log(`\n${REFUNDS} refunds held ${HOLD_MS / 1000} s at Stripe by one account; another account's GET /accounts/me/balance meanwhile (API pool 10)\n`);
  console.table([
    {
      'bystander reads': latencies.length,
      'answers': [...statuses].map(([s, n]) => `${n}×${s}`).join(' '),
      'p50 ms': percentile(sorted, 0.5),
      'p95 ms': percentile(sorted, 0.95),
      'max ms': Math.round(sorted.at(-1) ?? 0),
      'refund answers': [...refundStatuses].map(([s, n]) => `${n}×${s}`).join(' '),
    },
  ]);
  await server.close(1_000);
} finally {
  await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
  await pool.end();
  await connection.close();
  await fake.close();
  await temporal?.stop();
  await postgres?.stop();
  rmSync(dir, { recursive: true, force: true });
}
