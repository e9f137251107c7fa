import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from './pool.js';

/** A caller's Idempotency-Key, made fit for the keys derived from it (src/domain/idempotency-keys.ts). */
export const callerKeyDigest = (idempotencyKey: string): string => createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32);

/**
 * The API's Idempotency-Key records (table idempotency_keys), in explicit atomic phases:
 *   1. claim   — a short transaction of its own: a new key is taken with a lease; a known key is replayed, refused
 *                (another request), reported in flight, or — its holder's lease expired (crashed) — taken over;
 *   2. work    — the caller's transaction, which ends by storing the response under the claim's lock token
 *                (`completeIdempotencyKey`): the work and its answer commit together, or neither does;
 *   3. release — on a 5xx, the key is given back so a retry runs again.
 */
export interface IdempotentRequest {
  accountId: string;
  key: string;
  method: string;
  path: string;
  /** SHA-256 of the method, the path and the canonical body. */
  hash: Buffer;
}

export interface IdempotencySettings {
  /** How long a key is remembered (IDEMPOTENCY_KEY_TTL_HOURS). */
  ttlHours: number;
  /** How long a request may hold a key before another may take it over (its holder is presumed dead). */
  leaseSeconds: number;
}

export interface StoredResponse {
  status: number;
  body: Record<string, unknown>;
}

export type Claim =
  | { kind: 'claimed'; lockToken: string }
  | { kind: 'replay'; response: StoredResponse }
  | { kind: 'reused' }
  | { kind: 'in_flight'; retryAfterSeconds: number };

interface KeyRow {
  request_method: string;
  request_path: string;
  request_hash: Buffer;
  response_status: number | null;
  response_body: Record<string, unknown> | null;
  seconds_left: number | null;
}

export async function claimIdempotencyKey(pool: Pool, r: IdempotentRequest, s: IdempotencySettings): Promise<Claim> {
  const key = [r.accountId, r.key];
  // A key past its retention is forgotten (the prune Schedule deletes it too).
  await pool.query('DELETE FROM idempotency_keys WHERE account_id = $1 AND idempotency_key = $2 AND expires_at < now()', key);
  const inserted = await pool.query<{ lock_token: string }>(
    `INSERT INTO idempotency_keys (account_id, idempotency_key, request_method, request_path, request_hash, lock_token, locked_until, expires_at)
     VALUES ($1, $2, $3, $4, $5, gen_random_uuid(), now() + make_interval(secs => $6), now() + make_interval(hours => $7))
     ON CONFLICT (account_id, idempotency_key) DO NOTHING
     RETURNING lock_token`,
    [...key, r.method, r.path, r.hash, s.leaseSeconds, s.ttlHours],
  );
  if (inserted.rows[0]) return { kind: 'claimed', lockToken: inserted.rows[0].lock_token };
  const takenOver = await pool.query<{ lock_token: string }>(
    `UPDATE idempotency_keys SET lock_token = gen_random_uuid(), locked_until = now() + make_interval(secs => $6)
     WHERE account_id = $1 AND idempotency_key = $2 AND request_method = $3 AND request_path = $4 AND request_hash = $5
       AND response_status IS NULL AND locked_until < now()
     RETURNING lock_token`,
    [...key, r.method, r.path, r.hash, s.leaseSeconds],
  );
  if (takenOver.rows[0]) return { kind: 'claimed', lockToken: takenOver.rows[0].lock_token };
  const { rows } = await pool.query<KeyRow>(
    `SELECT request_method, request_path, request_hash, response_status, response_body,
            EXTRACT(EPOCH FROM locked_until - now())::float8 AS seconds_left
     FROM idempotency_keys WHERE account_id = $1 AND idempotency_key = $2`,
    key,
  );
  const row = rows[0];
  if (!row) return claimIdempotencyKey(pool, r, s); // released between our statements: try again
  if (row.request_method !== r.method || row.request_path !== r.path || !row.request_hash.equals(r.hash)) return { kind: 'reused' };
  if (row.response_status !== null) return { kind: 'replay', response: { status: row.response_status, body: row.response_body ?? {} } };
  return { kind: 'in_flight', retryAfterSeconds: Math.max(1, Math.ceil(row.seconds_left ?? 1)) };
}

/**
 * Stores the response under the claim, inside the caller's transaction. Throws when the claim was lost (the lease
 * ran out and another request took the key over): the caller's transaction must then roll back its work.
 */
export async function completeIdempotencyKey(db: Pool | PoolClient, r: IdempotentRequest, lockToken: string, response: StoredResponse): Promise<void> {
  const { rowCount } = await db.query(
    `UPDATE idempotency_keys SET response_status = $4, response_body = $5::jsonb, lock_token = NULL, locked_until = NULL
     WHERE account_id = $1 AND idempotency_key = $2 AND lock_token = $3`,
    [r.accountId, r.key, lockToken, response.status, JSON.stringify(response.body)],
  );
  if (rowCount !== 1) throw new Error(`Idempotency-Key ${r.key} was taken over while this request held it`);
}

/** Gives the key back (the request failed with a 5xx, or before doing anything): a retry runs again. */
export async function releaseIdempotencyKey(pool: Pool, r: IdempotentRequest, lockToken: string): Promise<void> {
  await pool.query('DELETE FROM idempotency_keys WHERE account_id = $1 AND idempotency_key = $2 AND lock_token = $3', [r.accountId, r.key, lockToken]);
}

/** Deletes keys past their retention, in batches; returns how many. */
export async function pruneIdempotencyKeys(pool: Pool, batchSize = 5_000): Promise<number> {
  let deleted = 0;
  for (;;) {
    const { rowCount } = await pool.query(
      `DELETE FROM idempotency_keys WHERE (account_id, idempotency_key) IN (
         SELECT account_id, idempotency_key FROM idempotency_keys WHERE expires_at < now() LIMIT $1)`,
      [batchSize],
    );
    deleted += rowCount ?? 0;
    if ((rowCount ?? 0) < batchSize) return deleted;
  }
}
