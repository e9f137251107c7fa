import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from './pool.js';

/** A caller's Idempotency-Key, made fit for the keys derived from it (src/domain/idempotency-keys.ts). */
export const callerKeyDigest = (idempotencyKey: string): string => createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32);

/**
 * The API's Idempotency-Key records (table idempotency_keys), in explicit atomic phases (as brandur's
 * rocket-rides-atomic keeps them):
 *   1. claim    — one statement at a time, no transaction held: a new key is taken with a lease; a known key is
 *                 replayed, refused (another request), reported in flight, or taken over — when its holder's lease
 *                 expired (crashed) or when it was left at a recovery point (its last attempt ended in a 5xx or 429);
 *   2. recovery — work that calls out (Stripe) first stores the exact request it will send (`saveRecoveryPoint`),
 *                 in the short transaction that reserves the money; a retry replays exactly that request;
 *   3. complete — the answer is stored under the claim's lock token (`completeIdempotencyKey`), in the same
 *                 transaction as the work's last local effect: effect and answer commit together, or neither does;
 *   4. release  — on a 5xx or 429 the key is given back: deleted when nothing was started, else left unheld at its
 *                 recovery point. Neither is ever a key's final answer.
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

/** What a request that calls out stored before calling (JSON): the caller's own shape, replayed verbatim. */
export type RecoveryPoint = Record<string, unknown>;

export type Claim =
  | { kind: 'claimed'; lockToken: string; recovery: RecoveryPoint | null }
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

interface ClaimRow {
  lock_token: string;
  recovery: RecoveryPoint | null;
}

export async function claimIdempotencyKey(pool: Pool, r: IdempotentRequest, s: IdempotencySettings): Promise<Claim> {
  const key = [r.accountId, r.key];
  // A key past its retention is forgotten (the prune Schedule deletes it too).
  await pool.query('DELETE FROM idempotency_keys WHERE account_id = $1 AND idempotency_key = $2 AND expires_at < now()', key);
  const inserted = await pool.query<ClaimRow>(
    `INSERT INTO idempotency_keys (account_id, idempotency_key, request_method, request_path, request_hash, lock_token, locked_until, expires_at)
     VALUES ($1, $2, $3, $4, $5, gen_random_uuid(), now() + make_interval(secs => $6), now() + make_interval(hours => $7))
     ON CONFLICT (account_id, idempotency_key) DO NOTHING
     RETURNING lock_token, recovery`,
    [...key, r.method, r.path, r.hash, s.leaseSeconds, s.ttlHours],
  );
  if (inserted.rows[0]) return { kind: 'claimed', lockToken: inserted.rows[0].lock_token, recovery: null };
  const takenOver = await pool.query<ClaimRow>(
    `UPDATE idempotency_keys SET lock_token = gen_random_uuid(), locked_until = now() + make_interval(secs => $6)
     WHERE account_id = $1 AND idempotency_key = $2 AND request_method = $3 AND request_path = $4 AND request_hash = $5
       AND response_status IS NULL AND (lock_token IS NULL OR locked_until < now())
     RETURNING lock_token, recovery`,
    [...key, r.method, r.path, r.hash, s.leaseSeconds],
  );
  if (takenOver.rows[0]) return { kind: 'claimed', lockToken: takenOver.rows[0].lock_token, recovery: takenOver.rows[0].recovery };
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

/**
 * Stores what the request is about to send (the recovery point), in the caller's transaction, under its claim. A
 * retry of the key gets it back from `claimIdempotencyKey` and must send exactly that. Throws when the claim was lost.
 */
export async function saveRecoveryPoint(tx: PoolClient, r: IdempotentRequest, lockToken: string, recovery: RecoveryPoint): Promise<void> {
  const { rowCount } = await tx.query(
    'UPDATE idempotency_keys SET recovery = $4::jsonb WHERE account_id = $1 AND idempotency_key = $2 AND lock_token = $3',
    [r.accountId, r.key, lockToken, JSON.stringify(recovery)],
  );
  if (rowCount !== 1) throw new Error(`Idempotency-Key ${r.key} was taken over while this request held it`);
}

/**
 * Gives the key back after a 5xx or a 429: a retry runs again. A key with a recovery point stays, unheld, so the
 * retry replays the stored request; one without is forgotten.
 */
export async function releaseIdempotencyKey(pool: Pool, r: IdempotentRequest, lockToken: string): Promise<void> {
  await pool.query(
    `WITH released AS (
       UPDATE idempotency_keys SET lock_token = NULL, locked_until = NULL
       WHERE account_id = $1 AND idempotency_key = $2 AND lock_token = $3 AND recovery IS NOT NULL RETURNING 1)
     DELETE FROM idempotency_keys WHERE account_id = $1 AND idempotency_key = $2 AND lock_token = $3 AND recovery IS NULL`,
    [r.accountId, r.key, lockToken],
  );
}

/** Deletes keys past their retention, in batches; returns how many. */
export async function pruneIdempotencyKeys(pool: Pool, batchSize = 5_000): Promise<number> {
  let deleted = 0;
  for (;;) {
    const { rowCount } = await pool.query(
      // By tuple id, as the inbox prune (src/db/webhook-inbox.ts): the batch on idempotency_keys_expiry, never a
      // hash join against the whole table; the expiry checked again on a row a request took over meanwhile.
      `DELETE FROM idempotency_keys
       WHERE ctid = ANY(ARRAY(SELECT ctid FROM idempotency_keys WHERE expires_at < now() LIMIT $1)) AND expires_at < now()`,
      [batchSize],
    );
    deleted += rowCount ?? 0;
    if ((rowCount ?? 0) < batchSize) return deleted;
  }
}
