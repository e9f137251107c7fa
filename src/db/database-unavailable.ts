import pg from 'pg';

/**
 * True when a Postgres call failed because the database could not be used at all — no connection, a dropped
 * connection, a timeout, a server shutting down or out of resources — rather than because the server refused
 * this statement (a constraint, bad data: a bug, not an outage).
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!(err instanceof pg.DatabaseError)) return true; // network errors, connect timeouts, pool errors
  const code = err.code ?? '';
  return code.startsWith('08') || code.startsWith('57P') || code.startsWith('53') || code === '57014'; // 57014: statement timeout
}
