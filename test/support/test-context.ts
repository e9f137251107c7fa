import type { Client, Connection } from '@temporalio/client';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { migrateUp } from '../../src/db/migrate.js';
import { createPool, quoteIdent, type Pool } from '../../src/db/pool.js';
import type { MoneyPolicy } from '../../src/domain/credit-policy.js';
import type { TeamRoute } from '../../src/routes/routes-file.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import { installWorkerRuntime } from '../../src/temporal/worker-runtime.js';
import { createStripeClient, type StripeClient } from '../../src/stripe/stripe-client.js';
import { createStripeRequestBudget, type StripeBudgetLimits } from '../../src/stripe/stripe-request-budget.js';
import { connectClient, connectWorker } from '../../src/temporal/connection.js';
import { createWorkers, runWorkers } from '../../src/worker/create-workers.js';
import type { PaymentWorkflowTuning } from '../../workflows/payment-workflow-input.js';

/** What one test file gets: its own schema, its own task queue, clients to the run's real servers. */
export interface TestContext {
  label: string;
  databaseUrl: string;
  schema: string;
  pool: Pool;
  temporalAddress: string;
  taskQueue: string;
  connection: Connection;
  client: Client;
  workflowBundlePath: string;
  close(): Promise<void>;
}

/**
 * Fast retries so a test sees needs_attention in seconds; processing re-checked every 2 s. Six attempts: one pass
 * is one activity, and a test that fails each of its Stripe calls in turn spends one attempt on each.
 */
export const TEST_TUNING: PaymentWorkflowTuning = {
  processingRecheck: '2 seconds',
  activityTimeout: '10 seconds',
  activityRetry: { maximumAttempts: 6, initialInterval: '100 milliseconds', maximumInterval: '500 milliseconds' },
};

export const uniqueSuffix = (): string => randomBytes(4).toString('hex');

export async function createTestContext(label: string): Promise<TestContext> {
  const suffix = uniqueSuffix();
  const schema = `t_${label.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 40)}_${suffix}`;
  const databaseUrl = inject('databaseUrl');
  await migrateUp({ url: databaseUrl, schema });
  const pool = createPool({ url: databaseUrl, schema, max: 20, application: `test-${label}` });
  const temporalAddress = inject('temporalAddress');
  const { connection, client } = await connectClient({ address: temporalAddress, namespace: 'default' });
  return {
    label,
    databaseUrl,
    schema,
    pool,
    temporalAddress,
    taskQueue: `test-${label}-${suffix}`,
    connection,
    client,
    workflowBundlePath: inject('workflowBundlePath'),
    async close() {
      await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`).catch(() => {});
      await pool.end();
      await connection.close();
    },
  };
}

export interface RunningWorkers {
  metrics: Metrics;
  stop(): Promise<void>;
}

/** Runs payconfirm's real workers in this process against the run's Temporal server. */
export async function startTestWorkers(
  ctx: TestContext,
  opts: {
    stripe: StripeClient;
    tuning?: PaymentWorkflowTuning;
    /** The limits of the request budget `stripe` spends from (budgetedStripeClientFor), shown in the workers' metrics. */
    stripeBudget?: StripeBudgetLimits;
    metrics?: Metrics;
    moneyPolicy?: MoneyPolicy;
    /** The client the event activities reach payment workflows with (default: the context's own). */
    activityClient?: Client;
    /** A routes file's team routes (src/routes/). */
    routes?: readonly TeamRoute[];
    /** Workflow code other than the run's bundle (e.g. a previous release's, for a deploy test). */
    workflowBundle?: { code: string };
  },
): Promise<RunningWorkers> {
  // Tests inject failures on purpose: the SDK's per-attempt warnings would drown the report.
  installWorkerRuntime({ logger: createLogger({ level: 'error', name: 'test-worker' }), level: 'ERROR' });
  const connection = await connectWorker({ address: ctx.temporalAddress, namespace: 'default' });
  const metrics = opts.metrics ?? createMetrics();
  const workers = await createWorkers({
    connection,
    namespace: 'default',
    taskQueue: ctx.taskQueue,
    pool: ctx.pool,
    stripe: opts.stripe,
    client: opts.activityClient ?? ctx.client,
    metrics,
    ...(opts.stripeBudget ? { stripeBudget: opts.stripeBudget } : {}),
    workflowBundle: opts.workflowBundle ?? { codePath: ctx.workflowBundlePath },
    paymentWorkflowTuning: opts.tuning ?? TEST_TUNING,
    ...(opts.moneyPolicy ? { moneyPolicy: opts.moneyPolicy } : {}),
    ...(opts.routes ? { routes: opts.routes } : {}),
    shutdownGraceTimeMs: 2_000,
  });
  const abort = new AbortController();
  const running = runWorkers(workers, abort.signal);
  return {
    metrics,
    async stop() {
      abort.abort();
      await running;
      await connection.close();
    },
  };
}

/** A Stripe SDK client pointed at a fake (or stripe-mock) base URL, with a short timeout for tests. */
export const stripeClientFor = (apiBase: string, secretKey = 'sk_test_fake', timeoutMs = 3_000): StripeClient =>
  createStripeClient({ secretKey, apiBase, timeoutMs });

/**
 * A client like stripeClientFor's that spends from the Stripe request budget in the context's own schema, as every
 * process of a deployment does (src/stripe/stripe-request-budget.ts): clients made here for one context share it.
 */
export const budgetedStripeClientFor = (ctx: TestContext, apiBase: string, limits: StripeBudgetLimits, secretKey = 'sk_test_fake'): StripeClient =>
  createStripeClient({ secretKey, apiBase, timeoutMs: 3_000, budget: createStripeRequestBudget({ pool: ctx.pool, limits }) });
