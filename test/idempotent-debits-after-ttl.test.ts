import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../src/db/accounts.js';
import { creditPayment } from '../src/db/ledger.js';
import { startPaymentStack, type PaymentStack } from './support/payment-stack.js';
import { callApi } from './support/test-api.js';
import { uniqueSuffix } from './support/test-context.js';

/**
 * A debit replayed after its Idempotency-Key's record is gone (past IDEMPOTENCY_KEY_TTL_HOURS, pruned): the ledger
 * row, keyed by the caller's key, is the answer — the same debit and the balance right after it, not a recomputed
 * balance, and never a second debit. Another request under that key is still refused. Real Postgres.
 */
let stack: PaymentStack;

beforeAll(async () => {
  stack = await startPaymentStack('debits_after_ttl');
});
afterAll(async () => {
  await stack?.close();
});

const debit = (apiKey: string, key: string, body: unknown) => callApi(stack.api.url, 'POST', '/accounts/me/debits', { apiKey, body, headers: { 'idempotency-key': key } });
const forgetKeys = (accountId: string) => stack.ctx.pool.query('DELETE FROM idempotency_keys WHERE account_id = $1', [accountId]);

describe('a debit replayed after its key expired', () => {
  it('answers from its ledger row: the same debit and its balance after, nothing moved; another amount is 422', async () => {
    const { account, apiKey } = await createAccount(stack.ctx.pool, { stripeCustomerId: `cus_ttl${uniqueSuffix()}` });
    await creditPayment(stack.ctx.pool, { accountId: account.id, paymentIntentId: `pi_ttl${uniqueSuffix()}`, amountMinor: 1_000, currency: 'usd' });
    const body = { amount_minor: 300, currency: 'usd', reference: 'job 1' };
    const first = await debit(apiKey, 'job-1', body);
    expect(first).toMatchObject({ status: 201, body: { balance: { amount_minor: 700 } } });
    // Later spending moves the balance on; then the first key's record expires and is pruned.
    expect((await debit(apiKey, 'job-2', { amount_minor: 200, currency: 'usd' })).status).toBe(201);
    await forgetKeys(account.id);

    const replayed = await debit(apiKey, 'job-1', body);
    expect(replayed.status).toBe(201);
    expect(replayed.body.debit).toEqual(first.body.debit);
    expect(replayed.body.balance).toEqual({ currency: 'usd', amount_minor: 700 }); // as it was right after this debit
    const { rows } = await stack.ctx.pool.query<{ n: number; balance: number }>(
      "SELECT (SELECT count(*)::int FROM ledger_entries WHERE account_id = $1 AND kind = 'usage_debit') AS n, (SELECT amount_minor FROM balances WHERE account_id = $1) AS balance",
      [account.id],
    );
    expect(rows[0]).toEqual({ n: 2, balance: 500 });

    await forgetKeys(account.id);
    const otherAmount = await debit(apiKey, 'job-1', { ...body, amount_minor: 301 });
    expect(otherAmount).toMatchObject({ status: 422, body: { error: { code: 'idempotency_key_reused' } } });
  });
});
