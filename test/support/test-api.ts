import { createStripeReadBudget } from '../../src/api/stripe-read-budget.js';
import { DEFAULT_MONEY_POLICY, type MoneyPolicy } from '../../src/domain/credit-policy.js';
import type { Express, Router } from 'express';
import type { ApiDeps } from '../../src/api/api-deps.js';
import { createApp } from '../../src/api/app.js';
import { listen } from '../../src/api/http-server.js';
import { startMetricsServer } from '../../src/metrics-server.js';
import { UNLIMITED_ACCOUNT_BUDGETS, type AccountBudgets } from '../../src/api/account-budgets.js';
import { SingleFlight } from '../../src/runtime/single-flight.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import type { Pool } from '../../src/db/pool.js';
import type { StripeClient } from '../../src/stripe/stripe-client.js';
import { TEST_TUNING, type TestContext } from './test-context.js';

export interface TestApi {
  url: string;
  /** GET /metrics, on its own listener (a free loopback port), as the API process serves it apart from `url`. */
  metricsUrl: string;
  deps: ApiDeps;
  /** The express app it serves (e.g. to list the routes it registers). */
  app: Express;
  close(): Promise<void>;
}

export const TEST_WEBHOOK_SECRET = 'whsec_test_payconfirm_0123456789abcdef';

/** payconfirm's real HTTP API, in this process, on a free port, wired to the run's real servers. */
export async function startTestApi(
  ctx: TestContext,
  opts: {
    stripe: StripeClient;
    /** The API's own pool (production gives the API a pool of DATABASE_POOL_MAX); default: the test context's. */
    pool?: Pool;
    metrics?: Metrics;
    confirmWaitMs?: number;
    /** Per-account limits by kind of request (src/api/account-budgets.ts); default: none. */
    accountBudgets?: Partial<AccountBudgets>;
    moneyPolicy?: MoneyPolicy;
    /** The API's Stripe reads per second (API_STRIPE_READS_PER_SECOND); default: no limit. */
    stripeReadsPerSecond?: number;
    extraRoutes?: (deps: ApiDeps) => Router[];
    logLevel?: string;
    /** Overrides logLevel: e.g. a logger writing to a stream the test reads. */
    logger?: Logger;
    /** STATE_GAUGES_MAX_AGE_SECONDS in ms; default 0: every scrape reads (tests watch the gauges move). */
    stateGaugesMaxAgeMs?: number;
  },
): Promise<TestApi> {
  const accountBudgets: AccountBudgets = { ...UNLIMITED_ACCOUNT_BUDGETS, ...opts.accountBudgets };
  const deps: ApiDeps = {
    pool: opts.pool ?? ctx.pool,
    stripe: opts.stripe,
    temporal: { connection: ctx.connection, client: ctx.client, namespace: 'default', taskQueue: ctx.taskQueue },
    payments: { client: ctx.client, taskQueue: ctx.taskQueue, tuning: TEST_TUNING },
    logger: opts.logger ?? createLogger({ level: opts.logLevel ?? 'silent' }),
    metrics: opts.metrics ?? createMetrics(),
    stripeReads: createStripeReadBudget(opts.stripeReadsPerSecond ?? 0, accountBudgets.stripeReads),
    truthReads: new SingleFlight(),
    settings: {
      confirmWaitMs: opts.confirmWaitMs ?? 15_000, accountBudgets, webhookSecrets: [TEST_WEBHOOK_SECRET],
      webhookMaxBodyBytes: 256 * 1024,
      moneyPolicy: opts.moneyPolicy ?? DEFAULT_MONEY_POLICY,
      idempotency: { ttlHours: 24, leaseSeconds: 60 },
      stateGaugesMaxAgeMs: opts.stateGaugesMaxAgeMs ?? 0,
    },
  };
  const app = createApp(deps, opts.extraRoutes?.(deps) ?? []);
  const server = await listen(app, 0, '127.0.0.1');
  const metricsServer = await startMetricsServer({ metrics: deps.metrics, host: '127.0.0.1', port: 0 });
  return { url: server.url, metricsUrl: metricsServer.url, deps, app, close: async () => void (await Promise.all([server.close(1_000), metricsServer.close()])) };
}

export interface JsonResponse<T = Record<string, any>> {
  status: number;
  headers: Headers;
  body: T;
}

/** A small JSON HTTP helper for tests (the typed client has its own tests). */
export async function callApi<T = Record<string, any>>(
  baseUrl: string,
  method: 'GET' | 'POST',
  path: string,
  opts: { apiKey?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<JsonResponse<T>> {
  const res = await fetch(baseUrl + path, {
    method,
    headers: {
      ...(opts.body !== undefined || opts.rawBody !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : {}),
      ...opts.headers,
    },
    ...(opts.rawBody !== undefined ? { body: opts.rawBody } : opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : null) as T };
}
