import { createHash, randomBytes } from 'node:crypto';
import { API_KEY_SCOPES, type ApiKeyScope } from '../domain/api-key-scopes.js';
import { accountColumns, toAccount, type Account, type AccountRow } from './account-row.js';
import type { Pool, PoolClient } from './pool.js';

/**
 * API keys: `pcf_` + 32 random bytes (base64url). Only the SHA-256 is stored; the secret is shown once, when made.
 * An account may hold several (rotation); each has scopes, an optional expiry, and may be revoked (docs/api-keys.md).
 */
const API_KEY_PREFIX = 'pcf_';
export const hashApiKey = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();
export const looksLikeApiKey = (key: string): boolean => /^pcf_[A-Za-z0-9_-]{43}$/.test(key);
export const isApiKeyId = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v);

/** live: it authenticates; revoked / expired: it never will again (revoked wins when both hold). */
export type ApiKeyState = 'live' | 'revoked' | 'expired';

/** A key as operators see it: never the secret; its first characters and last four tell keys apart. */
export interface ApiKeyRecord {
  id: string;
  accountId: string;
  name: string | null;
  scopes: ApiKeyScope[];
  /** `pcf_` and the secret's first characters. */
  prefix: string;
  /** The secret's last four characters; null for keys made before they were kept. */
  last4: string | null;
  state: ApiKeyState;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

export interface NewApiKey {
  name?: string | null;
  /** Default: all of them. */
  scopes?: readonly ApiKeyScope[];
  /** Default: never expires. Must be in the future. */
  expiresAt?: Date | null;
}

/** What createApiKey refuses: an empty scope list, an unknown scope, an expiry not in the future, a bad name. */
export class InvalidApiKeyRequestError extends Error {
  override readonly name = 'InvalidApiKeyRequestError';
}

/** How often last_used_at may be written per key: authentication reads on every request, writes at most this often. */
export const LAST_USED_RESOLUTION_SECONDS = 60;

/** The one rule for a key's state, on the database's clock (so every process agrees on when a key expired). */
const STATE_SQL = `CASE WHEN k.revoked_at IS NOT NULL THEN 'revoked' WHEN k.expires_at <= now() THEN 'expired' ELSE 'live' END`;

const KEY_COLUMNS = `k.id, k.account_id, k.name, k.scopes, k.key_prefix, k.key_last4, k.created_at, k.expires_at, k.revoked_at, k.last_used_at, ${STATE_SQL} AS state`;

interface ApiKeyRow {
  id: string;
  account_id: string;
  name: string | null;
  scopes: ApiKeyScope[];
  key_prefix: string;
  key_last4: string | null;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
  state: ApiKeyState;
}

const toRecord = (r: ApiKeyRow): ApiKeyRecord => ({
  id: r.id,
  accountId: r.account_id,
  name: r.name,
  scopes: r.scopes,
  prefix: r.key_prefix,
  last4: r.key_last4,
  state: r.state,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  lastUsedAt: r.last_used_at,
});

function checkedRequest(input: NewApiKey, now: Date): { name: string | null; scopes: ApiKeyScope[]; expiresAt: Date | null } {
  const scopes = API_KEY_SCOPES.filter((s) => (input.scopes ?? API_KEY_SCOPES).includes(s));
  if (scopes.length === 0 || scopes.length !== new Set(input.scopes ?? API_KEY_SCOPES).size) {
    throw new InvalidApiKeyRequestError(`scopes must be a non-empty list of ${API_KEY_SCOPES.join(', ')}`);
  }
  const name = input.name ?? null;
  if (name !== null && (name.length < 1 || name.length > 100)) throw new InvalidApiKeyRequestError('a key name is 1–100 characters');
  const expiresAt = input.expiresAt ?? null;
  if (expiresAt !== null && !(expiresAt.getTime() > now.getTime())) throw new InvalidApiKeyRequestError('a key must expire in the future');
  return { name, scopes, expiresAt };
}

/**
 * Makes a key for the account, inside the caller's transaction (account creation makes its first key this way).
 * Resolves with the secret, which exists only in this answer, and the stored record.
 */
export async function insertApiKey(client: Pool | PoolClient, accountId: string, input: NewApiKey = {}): Promise<{ apiKey: string; key: ApiKeyRecord }> {
  const { name, scopes, expiresAt } = checkedRequest(input, new Date());
  const apiKey = API_KEY_PREFIX + randomBytes(32).toString('base64url');
  const { rows } = await client.query<ApiKeyRow>(
    `INSERT INTO api_keys AS k (account_id, key_hash, key_prefix, key_last4, name, scopes, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     RETURNING ${KEY_COLUMNS}`,
    [accountId, hashApiKey(apiKey), apiKey.slice(0, 10), apiKey.slice(-4), name, scopes, expiresAt],
  );
  return { apiKey, key: toRecord(rows[0]!) };
}

/** A new key for `account` (rotation: several may be live at once). The secret is in this answer only. */
export const createApiKey = (pool: Pool, account: Pick<Account, 'id'>, input: NewApiKey = {}): Promise<{ apiKey: string; key: ApiKeyRecord }> =>
  insertApiKey(pool, account.id, input);

/** The account's keys, oldest first, in every state; never a secret nor its hash. */
export async function listApiKeys(pool: Pool, accountId: string): Promise<ApiKeyRecord[]> {
  const { rows } = await pool.query<ApiKeyRow>(`SELECT ${KEY_COLUMNS} FROM api_keys k WHERE k.account_id = $1 ORDER BY k.created_at, k.id`, [accountId]);
  return rows.map(toRecord);
}

/**
 * Revokes the account's key from now on (authentication reads the row on every request: no cache outlives it).
 * Idempotent: revoking a revoked key keeps its first revoked_at. Null when the account has no such key.
 */
export async function revokeApiKey(pool: Pool, accountId: string, keyId: string): Promise<{ key: ApiKeyRecord; alreadyRevoked: boolean } | null> {
  if (!isApiKeyId(keyId)) return null;
  // now() is this statement's transaction start: a revoked_at before it was set by an earlier revoke.
  const { rows } = await pool.query<ApiKeyRow & { already_revoked: boolean }>(
    `UPDATE api_keys k SET revoked_at = COALESCE(k.revoked_at, now())
     WHERE k.id = $2 AND k.account_id = $1
     RETURNING ${KEY_COLUMNS}, k.revoked_at < now() AS already_revoked`,
    [accountId, keyId],
  );
  return rows[0] ? { key: toRecord(rows[0]), alreadyRevoked: rows[0].already_revoked } : null;
}

/** What a presented secret is: the live key and its account, a key that no longer works (and why), or nothing known. */
export type PresentedKey =
  | { state: 'live'; account: Account; key: { id: string; scopes: ApiKeyScope[] } }
  | { state: 'revoked' | 'expired'; keyId: string }
  | { state: 'unknown' };

/**
 * The key a request presents, read fresh (one statement, no cache), as authentication needs it. Also marks the key
 * used when its last_used_at is older than LAST_USED_RESOLUTION_SECONDS: the write happens at most once a minute
 * per key (the condition is re-checked on the row itself, so concurrent requests do not all write).
 */
export async function findLiveKey(pool: Pool, secret: string): Promise<PresentedKey> {
  if (!looksLikeApiKey(secret)) return { state: 'unknown' };
  const { rows } = await pool.query<AccountRow & { key_id: string; scopes: ApiKeyScope[]; state: ApiKeyState }>(
    `WITH presented AS (
       SELECT k.id AS key_id, k.scopes, ${STATE_SQL} AS state, ${accountColumns('a')}
       FROM api_keys k JOIN accounts a ON a.id = k.account_id
       WHERE k.key_hash = $1
     ), touched AS (
       UPDATE api_keys SET last_used_at = now()
       FROM presented p
       WHERE api_keys.id = p.key_id AND p.state = 'live'
         AND (api_keys.last_used_at IS NULL OR api_keys.last_used_at < now() - make_interval(secs => $2))
       RETURNING 1
     )
     SELECT * FROM presented`,
    [hashApiKey(secret), LAST_USED_RESOLUTION_SECONDS],
  );
  const r = rows[0];
  if (!r) return { state: 'unknown' };
  if (r.state !== 'live') return { state: r.state, keyId: r.key_id };
  return { state: 'live', account: toAccount(r), key: { id: r.key_id, scopes: r.scopes } };
}
