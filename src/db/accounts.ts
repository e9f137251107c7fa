import { accountColumns, toAccount, type Account, type AccountRow } from './account-row.js';
import { insertApiKey } from './api-keys.js';
import { inTransaction, type Pool } from './pool.js';
export { isAccountEmail } from '../domain/email-address.js';
export type { Account } from './account-row.js';

const ACCOUNT_COLUMNS = accountColumns();

export class AccountExistsError extends Error {
  override readonly name = 'AccountExistsError';
}

export async function createAccount(
  pool: Pool,
  input: { stripeCustomerId: string; name?: string | null; email?: string | null },
): Promise<{ account: Account; apiKey: string }> {
  return inTransaction(pool, async (client) => {
    const { rows } = await client.query<AccountRow>(
      `INSERT INTO accounts (stripe_customer_id, name, email) VALUES ($1, $2, $3)
       ON CONFLICT (stripe_customer_id) DO NOTHING
       RETURNING ${ACCOUNT_COLUMNS}`,
      [input.stripeCustomerId, input.name ?? null, input.email ?? null],
    );
    if (!rows[0]) throw new AccountExistsError(`an account for Stripe customer ${input.stripeCustomerId} already exists`);
    // Its first key can do everything; `accounts keys create` makes narrower ones (docs/api-keys.md).
    const { apiKey } = await insertApiKey(client, rows[0].id, { name: 'initial' });
    return { account: toAccount(rows[0]), apiKey };
  });
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
