import type { Client, Connection } from '@temporalio/client';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { createPool, type Pool } from '../db/pool.js';
import { describeDatabaseUrl } from '../runtime/backends.js';
import { StartupError } from '../runtime/startup-error.js';
import { connectClient } from '../temporal/connection.js';

/**
 * Configuration and connections of CLI commands. Each command asks only for what it uses, so `ledger verify`
 * needs DATABASE_URL and nothing of Stripe or Temporal; a missing variable is one line naming it.
 */
export const cliConfig = (env: NodeJS.ProcessEnv): Config => loadConfig(env);

export function requireDatabase(config: Config): { url: string; schema: string | undefined } {
  if (!config.databaseUrl) throw new ConfigError('DATABASE_URL', 'is required for this command (postgres://…)');
  return { url: config.databaseUrl, schema: config.databaseSchema };
}

/** Runs `work` with a Postgres pool (DATABASE_URL, DATABASE_SCHEMA), proved reachable first, closed after. */
export async function withPool<T>(config: Config, work: (pool: Pool) => Promise<T>): Promise<T> {
  const db = requireDatabase(config);
  const pool = createPool({ url: db.url, schema: db.schema, max: 2, application: 'payconfirm-cli' });
  try {
    try {
      await pool.query('SELECT 1');
    } catch (err) {
      throw new StartupError(`cannot reach Postgres at DATABASE_URL (${describeDatabaseUrl(db.url)}): ${(err as Error).message}`);
    }
    return await work(pool);
  } finally {
    await pool.end().catch(() => {});
  }
}

export interface CliTemporal {
  client: Client;
  connection: Connection;
  namespace: string;
  taskQueue: string;
}

/** Runs `work` with a Temporal client (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TASK_QUEUE, credentials), closed after. */
export async function withTemporal<T>(config: Config, work: (temporal: CliTemporal) => Promise<T>): Promise<T> {
  const address = config.temporal.address;
  if (!address) throw new ConfigError('TEMPORAL_ADDRESS', 'is required for this command (host:port)');
  const { connection, client } = await connectClient({ ...config.temporal, address });
  try {
    return await work({ client, connection, namespace: config.temporal.namespace, taskQueue: config.temporal.taskQueue });
  } finally {
    await connection.close().catch(() => {});
  }
}
