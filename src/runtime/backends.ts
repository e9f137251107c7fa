import type { Client, Connection } from '@temporalio/client';
import type { ServiceConfig } from '../config.js';
import { createPool, type Pool } from '../db/pool.js';
import { createStripeClient, type StripeClient } from '../stripe/stripe-client.js';
import { createStripeRequestBudget, type StripeRequestBudget } from '../stripe/stripe-request-budget.js';
import { connectClient } from '../temporal/connection.js';
import { StartupError } from './startup-error.js';

export interface Backends {
  pool: Pool;
  temporal: { connection: Connection; client: Client; namespace: string; taskQueue: string };
  /** Spends from `stripeBudget` before every request. */
  stripe: StripeClient;
  /** The Stripe request budget every process shares, in this Postgres (src/stripe/stripe-request-budget.ts). */
  stripeBudget: StripeRequestBudget;
  close(): Promise<void>;
}

/** Where a DATABASE_URL points, without its password. */
export function describeDatabaseUrl(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || 5432}${u.pathname}`;
}

/** Opens Postgres, Temporal and Stripe clients, proving the first two answer; each failure is one clear line. */
export async function openBackends(config: ServiceConfig, application: string): Promise<Backends> {
  const pool = createPool({ url: config.databaseUrl, schema: config.databaseSchema, application });
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    await pool.end().catch(() => {});
    throw new StartupError(`cannot reach Postgres at DATABASE_URL (${describeDatabaseUrl(config.databaseUrl)}): ${(err as Error).message}`);
  }
  let temporal: Awaited<ReturnType<typeof connectClient>>;
  try {
    temporal = await connectClient({ ...config.temporal, address: config.temporal.address });
    await temporal.connection.withDeadline(Date.now() + 5_000, () =>
      temporal.connection.workflowService.describeNamespace({ namespace: config.temporal.namespace }),
    );
  } catch (err) {
    await pool.end().catch(() => {});
    throw new StartupError(
      `cannot use Temporal at TEMPORAL_ADDRESS (${config.temporal.address}), namespace ${config.temporal.namespace}: ${(err as Error).message}`,
    );
  }
  const stripeBudget = createStripeRequestBudget({ pool, limits: config.stripe.budget });
  const stripe = createStripeClient({ secretKey: config.stripe.secretKey, apiBase: config.stripe.apiBase, timeoutMs: config.stripe.timeoutMs, budget: stripeBudget });
  return {
    pool,
    temporal: { ...temporal, namespace: config.temporal.namespace, taskQueue: config.temporal.taskQueue },
    stripe,
    stripeBudget,
    async close() {
      await Promise.allSettled([pool.end(), temporal.connection.close()]);
    },
  };
}
