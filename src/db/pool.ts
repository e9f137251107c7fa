import pg from 'pg';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

// Postgres BIGINT (int8) → JS number. Money in minor units stays far below 2^53; the parser refuses anything larger.
pg.types.setTypeParser(20, (value: string) => {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`bigint ${value} exceeds JavaScript's safe integer range`);
  return n;
});

export interface PoolOptions {
  url: string;
  /** Schema to use (search_path); tests give each file its own. Defaults to the server's (public). */
  schema?: string | undefined;
  max?: number;
  application?: string;
}

/** A pool whose every connection has bounded waits: connect, statements, idle transactions. */
export function createPool(opts: PoolOptions): Pool {
  const settings = [
    '-c statement_timeout=15000',
    '-c lock_timeout=10000',
    '-c idle_in_transaction_session_timeout=30000',
    ...(opts.schema ? [`-c search_path=${quoteIdent(opts.schema)}`] : []),
  ];
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.max ?? 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    application_name: opts.application ?? 'payconfirm',
    options: settings.join(' '),
  });
  // A client losing its connection (Postgres restarted, a network cut) must not crash the process: an idle one is
  // reported here (the pool drops it); a checked-out one has no pool listener, so each client gets its own. Either
  // way the next statement on it fails, and that failure is what callers see (an outage: src/db/database-unavailable.ts).
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

export function quoteIdent(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) throw new Error(`invalid SQL identifier: ${name}`);
  return `"${name}"`;
}

/** Runs `work` in one transaction: COMMIT if it resolves, ROLLBACK if it throws. */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
