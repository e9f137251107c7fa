import pg from 'pg';

/**
 * The one rule for "Postgres could not be used at all" — no connection, a dropped connection, no free connection in
 * time, a server shutting down, starting up or out of resources, a statement cut by its timeout — as opposed to the
 * server refusing this statement (a constraint, bad data: a bug or a caller's mistake, not an outage) or a bug in
 * this process. The API answers an outage 503 `database_unavailable` with Retry-After (src/api/error-handler.ts);
 * the webhook receiver takes it as the cue to accept through Temporal alone (src/api/routes/webhook-routes.ts).
 */
export function isDatabaseOutage(err: unknown): boolean {
  if (err instanceof pg.DatabaseError) return isOutageSqlState(err.code ?? '');
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (NETWORK_ERROR_CODES.has(code) || isOutageSqlState(code))) return true;
  if (CONNECTION_MESSAGES.some((m) => err.message.startsWith(m))) return true;
  // node-postgres wraps a connect timeout's cause; an AggregateError holds one failure per address tried.
  const causes = err instanceof AggregateError ? err.errors : err.cause !== undefined ? [err.cause] : [];
  return causes.some(isDatabaseOutage);
}

/**
 * SQLSTATE: class 08 (connection exception), 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now
 * (starting up, in recovery), class 53 (insufficient resources: too many connections, disk full, out of memory),
 * 57014 (statement timeout or cancel).
 */
const isOutageSqlState = (code: string): boolean =>
  code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code.startsWith('53') || code === '57014';

/** Node socket errors on the way to Postgres. */
const NETWORK_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** node-postgres (pg, pg-pool) errors without a code: a connection lost, or none to be had in time. */
const CONNECTION_MESSAGES = [
  'Connection terminated', // "… unexpectedly", "… due to connection timeout"
  'timeout exceeded when trying to connect', // the pool: no client free within connectionTimeoutMillis
  'Client has encountered a connection error and is not queryable',
  'Query read timeout',
  'timeout expired',
];
