import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../src/db/accounts.js';
import { verifyLedger } from '../src/db/ledger-verify.js';
import { creditPayment } from '../src/db/ledger.js';
import { uniqueSuffix } from './support/test-context.js';
import { startPaymentStack, type PaymentStack } from './support/payment-stack.js';
import { callApi } from './support/test-api.js';
import { clientLosingFirstAnswer } from './support/lossy-client.js';

/**
 * POST /accounts/me/debits under the Idempotency-Key contract (Stripe's semantics): one ledger row per key however
 * many times and however concurrently it is sent; the stored answer replayed; another request under the same key
 * refused; a 5xx or a crash gives the key back; never below zero under concurrent spending. Real Postgres.
 */
let stack: PaymentStack;

beforeAll(async () => {
  stack = await startPaymentStack('debits');
});
afterAll(async () => {
  await stack?.close();
});

/** An account holding `amount` usd (a payment credit in the ledger). */
async function fundedAccount(amount: number): Promise<{ accountId: string; apiKey: string }> {
  const { account, apiKey } = await createAccount(stack.ctx.pool, { stripeCustomerId: `cus_debits${uniqueSuffix()}` });
  if (amount > 0) await creditPayment(stack.ctx.pool, { accountId: account.id, paymentIntentId: `pi_debits${uniqueSuffix()}`, amountMinor: amount, currency: 'usd' });
  return { accountId: account.id, apiKey };
}

const debit = (apiKey: string, key: string | null, body: unknown) =>
  callApi(stack.api.url, 'POST', '/accounts/me/debits', { apiKey, body, headers: key === null ? {} : { 'idempotency-key': key } });

const usageDebits = async (accountId: string) =>
  (await stack.ctx.pool.query<{ amount_minor: number; reference: string | null }>(
    "SELECT amount_minor, reference FROM ledger_entries WHERE account_id = $1 AND kind = 'usage_debit' ORDER BY seq",
    [accountId],
  )).rows;

const balanceOf = async (accountId: string) =>
  (await stack.ctx.pool.query<{ amount_minor: number }>("SELECT amount_minor FROM balances WHERE account_id = $1 AND currency = 'usd'", [accountId])).rows[0]
    ?.amount_minor ?? 0;

describe('POST /accounts/me/debits with an Idempotency-Key', () => {
  it('50 concurrent identical debits under one key: one ledger row, every answer the same (or 409 while in flight, then the same)', async () => {
    const a = await fundedAccount(1_000);
    const body = { amount_minor: 250, currency: 'usd', reference: 'gpu-minutes', metadata: { job: 'j-1' } };
    const answers = await Promise.all(Array.from({ length: 50 }, () => debit(a.apiKey, 'order-7781', body)));
    const created = answers.filter((r) => r.status === 201);
    const inFlight = answers.filter((r) => r.status === 409);
    expect(created.length + inFlight.length).toBe(50);
    expect(created.length).toBeGreaterThanOrEqual(1);
    for (const r of created) expect(r.body).toEqual(created[0]!.body);
    for (const r of inFlight) {
      expect(r.body.error).toMatchObject({ code: 'request_in_progress' });
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    const again = await debit(a.apiKey, 'order-7781', body);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(created[0]!.body);
    expect(created[0]!.body).toMatchObject({ debit: { amount_minor: 250, currency: 'usd', reference: 'gpu-minutes', metadata: { job: 'j-1' } }, balance: { amount_minor: 750 } });
    expect(await usageDebits(a.accountId)).toEqual([{ amount_minor: -250, reference: 'gpu-minutes' }]);
    expect(await balanceOf(a.accountId)).toBe(750);
  });

  it('the same key for another request is 422 idempotency_key_reused; key order in the body does not matter', async () => {
    const a = await fundedAccount(1_000);
    expect((await debit(a.apiKey, 'k-1', { amount_minor: 100, currency: 'usd', reference: 'x' })).status).toBe(201);
    const reordered = await debit(a.apiKey, 'k-1', { reference: 'x', currency: 'usd', amount_minor: 100 });
    expect(reordered.headers.get('idempotent-replayed')).toBe('true');
    const other = await debit(a.apiKey, 'k-1', { amount_minor: 101, currency: 'usd', reference: 'x' });
    expect(other.status).toBe(422);
    expect(other.body.error).toMatchObject({ code: 'idempotency_key_reused' });
    expect(await usageDebits(a.accountId)).toHaveLength(1);
  });

  it('two accounts may use one key; two debits sharing a reference text both apply', async () => {
    const [a, b] = await Promise.all([fundedAccount(500), fundedAccount(500)]);
    const body = { amount_minor: 100, currency: 'usd', reference: 'reservation_refund' };
    expect((await debit(a.apiKey, 'shared-key', body)).status).toBe(201);
    expect((await debit(b.apiKey, 'shared-key', body)).status).toBe(201);
    expect((await debit(a.apiKey, 'another-key', body)).status).toBe(201);
    expect(await usageDebits(a.accountId)).toHaveLength(2);
    expect(await usageDebits(b.accountId)).toHaveLength(1);
  });

  it('100 concurrent debits of 1 on a balance of 60: exactly 60 succeed, 40 are 409 insufficient_balance, never below zero', async () => {
    const a = await fundedAccount(60);
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => debit(a.apiKey, `unit-${i}`, { amount_minor: 1, currency: 'usd' })));
    expect(answers.filter((r) => r.status === 201)).toHaveLength(60);
    const refused = answers.filter((r) => r.status === 409);
    expect(refused).toHaveLength(40);
    for (const r of refused) expect(r.body.error).toMatchObject({ code: 'insufficient_balance' });
    expect(await balanceOf(a.accountId)).toBe(0);
    // A refusal is an answer too: the same key hears it again, even once money is there.
    await creditPayment(stack.ctx.pool, { accountId: a.accountId, paymentIntentId: `pi_topup${uniqueSuffix()}`, amountMinor: 10, currency: 'usd' });
    const refusedKey = answers.findIndex((r) => r.status === 409);
    const replay = await debit(a.apiKey, `unit-${refusedKey}`, { amount_minor: 1, currency: 'usd' });
    expect(replay).toMatchObject({ status: 409, body: { error: { code: 'insufficient_balance' } } });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect((await verifyLedger(stack.ctx.pool)).ok).toBe(true);
  });

  it('a 5xx after the key was taken gives it back: the retry runs and applies once', async () => {
    const a = await fundedAccount(300);
    const { pool, schema } = stack.ctx;
    // A real fault inside the request's transaction: the ledger refuses this account's next insert, once (a
    // sequence counts the calls: nextval survives the rollback that the refusal causes).
    await pool.query(`CREATE SEQUENCE IF NOT EXISTS "${schema}".fail_once_calls`);
    await pool.query(`
      CREATE OR REPLACE FUNCTION "${schema}".fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.account_id = '${a.accountId}' AND nextval('"${schema}".fail_once_calls') = 1 THEN
          RAISE EXCEPTION 'injected failure';
        END IF;
        RETURN NEW;
      END $$`);
    await pool.query(`CREATE OR REPLACE TRIGGER fail_once BEFORE INSERT ON "${schema}".ledger_entries FOR EACH ROW EXECUTE FUNCTION "${schema}".fail_once()`);
    try {
      const failed = await debit(a.apiKey, 'flaky', { amount_minor: 100, currency: 'usd' });
      expect(failed.status).toBe(500);
      expect(failed.body.error).toMatchObject({ code: 'internal_error' });
      expect(JSON.stringify(failed.body)).not.toContain('injected');
      // …but the ledger refusal rolled back in the same transaction, and the key is free again.
      const retried = await debit(a.apiKey, 'flaky', { amount_minor: 100, currency: 'usd' });
      expect(retried.status).toBe(201);
      expect(retried.headers.get('idempotent-replayed')).toBeNull();
      expect(await usageDebits(a.accountId)).toHaveLength(1);
      expect(await balanceOf(a.accountId)).toBe(200);
    } finally {
      await pool.query(`DROP TRIGGER IF EXISTS fail_once ON "${schema}".ledger_entries`);
    }
  });

  it('a request that died holding its key: 409 while its lease runs, then a retry takes the key over and applies once', async () => {
    const a = await fundedAccount(300);
    const body = { amount_minor: 120, currency: 'usd' };
    // A request got as far as taking the key, then its process was killed: its transaction never committed.
    const first = await debit(a.apiKey, 'probe-hash', body); // learn the request hash the API stores for this body
    const { rows } = await stack.ctx.pool.query<{ request_hash: Buffer; request_path: string }>(
      "SELECT request_hash, request_path FROM idempotency_keys WHERE account_id = $1 AND idempotency_key = 'probe-hash'",
      [a.accountId],
    );
    expect(first.status).toBe(201);
    await stack.ctx.pool.query(
      `INSERT INTO idempotency_keys (account_id, idempotency_key, request_method, request_path, request_hash, lock_token, locked_until, expires_at)
       VALUES ($1, 'crashed', 'POST', $2, $3, gen_random_uuid(), now() + interval '30 seconds', now() + interval '1 day')`,
      [a.accountId, rows[0]!.request_path, rows[0]!.request_hash],
    );
    const whileHeld = await debit(a.apiKey, 'crashed', body);
    expect(whileHeld.status).toBe(409);
    expect(whileHeld.body.error).toMatchObject({ code: 'request_in_progress' });
    await stack.ctx.pool.query("UPDATE idempotency_keys SET locked_until = now() - interval '1 second' WHERE idempotency_key = 'crashed'");
    const retried = await debit(a.apiKey, 'crashed', body);
    expect(retried.status).toBe(201);
    expect(await usageDebits(a.accountId)).toHaveLength(2); // the probe's and the retried one: the crash applied nothing
    expect(await balanceOf(a.accountId)).toBe(60);
  });

  it('bad input: a 4xx JSON error, nothing written, and the key is not burned', async () => {
    const a = await fundedAccount(1_000);
    const cases: Array<[string | null, unknown, number, string]> = [
      [null, { amount_minor: 1, currency: 'usd' }, 400, 'idempotency_key_required'],
      ['x'.repeat(256), { amount_minor: 1, currency: 'usd' }, 400, 'idempotency_key_invalid'],
      ['tab\there', { amount_minor: 1, currency: 'usd' }, 400, 'idempotency_key_invalid'],
      ['bad-1', {}, 400, 'invalid_debit'],
      ['bad-1', { amount_minor: '5', currency: 'usd' }, 400, 'invalid_debit'],
      ['bad-1', { amount_minor: 0, currency: 'usd' }, 400, 'invalid_debit'],
      ['bad-1', { amount_minor: -5, currency: 'usd' }, 400, 'invalid_debit'],
      ['bad-1', { amount_minor: 1.5, currency: 'usd' }, 400, 'invalid_debit'],
      ['bad-1', { amount_minor: 5, currency: 'zzz' }, 400, 'invalid_debit'],
      ['bad-1', { amount_minor: 5, currency: 'USD' }, 400, 'invalid_debit'],
      ['bad-1', { amount_minor: 5, currency: 'usd', metadata: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v'])) }, 400, 'invalid_debit'],
      ['bad-1', { amount_minor: 5, currency: 'usd', metadata: { k: 'v'.repeat(501) } }, 400, 'invalid_debit'],
      ['bad-1', { amount_minor: 5, currency: 'usd', account_id: a.accountId }, 400, 'invalid_debit'],
    ];
    for (const [key, body, status, code] of cases) {
      const r = await debit(a.apiKey, key, body);
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(r.body.error, JSON.stringify(body)).toMatchObject({ code, message: expect.any(String), request_id: expect.any(String) });
    }
    expect(await usageDebits(a.accountId)).toEqual([]);
    const { rows } = await stack.ctx.pool.query('SELECT 1 FROM idempotency_keys WHERE account_id = $1', [a.accountId]);
    expect(rows).toEqual([]);
    expect((await debit(a.apiKey, 'bad-1', { amount_minor: 5, currency: 'usd' })).status).toBe(201);
    expect((await callApi(stack.api.url, 'POST', '/accounts/me/debits', { body: { amount_minor: 5, currency: 'usd' }, headers: { 'idempotency-key': 'k' } })).status).toBe(401);
  });

  it('the client: one Idempotency-Key per debit() call, reused on its retries — a lost response debits once', async () => {
    const a = await fundedAccount(500);
    const { client, keys } = clientLosingFirstAnswer(stack.api.url, a.apiKey);
    const result = await client.debit({ amountMinor: 125, currency: 'usd', reference: 'lost answer' });
    expect(result).toMatchObject({ amountMinor: 125, currency: 'usd', reference: 'lost answer', balanceAfter: { currency: 'usd', amountMinor: 375 } });
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
    expect(await usageDebits(a.accountId)).toHaveLength(1);

    // Another call is another debit (its own key); a refused one rejects with the typed error.
    await client.debit({ amountMinor: 125, currency: 'usd', reference: 'lost answer' });
    expect(await usageDebits(a.accountId)).toHaveLength(2);
    await expect(client.debit({ amountMinor: 10_000, currency: 'usd' })).rejects.toMatchObject({ httpStatus: 409, code: 'insufficient_balance' });
  });
});
