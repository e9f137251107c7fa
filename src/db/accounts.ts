import { createHash, randomBytes } from 'node:crypto';
import { inTransaction, type Pool } from './pool.js';
export { isAccountEmail } from '../domain/email-address.js';

export interface Account {
  id: string;
  name: string | null;
  stripeCustomerId: string;
  /** Where e-mail receipts go (docs/notifications.md, "E-mail receipts"); null: none are sent. */
  email: string | null;
  createdAt: Date;
}

interface AccountRow {
  id: string;
  name: string | null;
  stripe_customer_id: string;
  email: string | null;
  created_at: Date;
}

const toAccount = (r: AccountRow): Account => ({ id: r.id, name: r.name, stripeCustomerId: r.stripe_customer_id, email: r.email, createdAt: r.created_at });

const ACCOUNT_COLUMNS = 'id, name, stripe_customer_id, email, created_at';

export class AccountExistsError extends Error {
  override readonly name = 'AccountExistsError';
}

/** API keys: `pcf_` + 32 random bytes (base64url). Only the SHA-256 is stored; the key is shown once. */
const API_KEY_PREFIX = 'pcf_';
export const hashApiKey = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();
export const looksLikeApiKey = (key: string): boolean => /^pcf_[A-Za-z0-9_-]{43}$/.test(key);

export async function createAccount(
  pool: Pool,
  input: { stripeCustomerId: string; name?: string | null; email?: string | null },
): Promise<{ account: Account; apiKey: string }> {
  const apiKey = API_KEY_PREFIX + randomBytes(32).toString('base64url');
  return inTransaction(pool, async (client) => {
    const { rows } = await client.query<AccountRow>(
      `INSERT INTO accounts (stripe_customer_id, name, email) VALUES ($1, $2, $3)
       ON CONFLICT (stripe_customer_id) DO NOTHING
       RETURNING ${ACCOUNT_COLUMNS}`,
      [input.stripeCustomerId, input.name ?? null, input.email ?? null],
    );
    if (!rows[0]) throw new AccountExistsError(`an account for Stripe customer ${input.stripeCustomerId} already exists`);
    await client.query('INSERT INTO api_keys (account_id, key_hash, key_prefix) VALUES ($1, $2, $3)', [
      rows[0].id,
      hashApiKey(apiKey),
      apiKey.slice(0, 10),
    ]);
    return { account: toAccount(rows[0]), apiKey };
  });
}

export async function findAccountByApiKey(pool: Pool, apiKey: string): Promise<Account | null> {
  if (!looksLikeApiKey(apiKey)) return null;
  const { rows } = await pool.query<AccountRow>(
    `SELECT a.id, a.name, a.stripe_customer_id, a.email, a.created_at
     FROM api_keys k JOIN accounts a ON a.id = k.account_id
     WHERE k.key_hash = $1 AND k.revoked_at IS NULL`,
    [hashApiKey(apiKey)],
  );
  return rows[0] ? toAccount(rows[0]) : null;
}

export async function findAccountByStripeCustomer(pool: Pool, stripeCustomerId: string): Promise<Account | null> {
  const { rows } = await pool.query<AccountRow>(
    `SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE stripe_customer_id = $1`,
    [stripeCustomerId],
  );
  return rows[0] ? toAccount(rows[0]) : null;
}

export async function findAccountById(pool: Pool, accountId: string): Promise<Account | null> {
  if (!/^[0-9a-f-]{36}$/i.test(accountId)) return null;
  const { rows } = await pool.query<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = $1`, [accountId]);
  return rows[0] ? toAccount(rows[0]) : null;
}

/** Sets (or, with null, clears) the account's e-mail address: receipts for credits written from now on go there. */
export async function setAccountEmail(pool: Pool, accountId: string, email: string | null): Promise<Account | null> {
  if (!/^[0-9a-f-]{36}$/i.test(accountId)) return null;
  const { rows } = await pool.query<AccountRow>(`UPDATE accounts SET email = $2 WHERE id = $1 RETURNING ${ACCOUNT_COLUMNS}`, [accountId, email]);
  return rows[0] ? toAccount(rows[0]) : null;
}
