import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../src/db/accounts.js';
import {
  appendLedgerEntry,
  creditPayment,
  getBalances,
  LedgerIdempotencyConflictError,
  listLedgerEntries,
} from '../src/db/ledger.js';
import { verifyLedger } from '../src/db/ledger-verify.js';
import { createTestContext, uniqueSuffix, type TestContext } from './support/test-context.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext('ledger');
});
afterAll(() => ctx?.close());

const newAccount = async () => (await createAccount(ctx.pool, { stripeCustomerId: `cus_${uniqueSuffix()}` })).account.id;
const countRows = async (sql: string, params: unknown[]) => Number((await ctx.pool.query(sql, params)).rows[0].count);

describe('ledger (invariants 1, 2 and 6 on the real Postgres)', () => {
  it('a payment credit moves the balance once; a duplicate returns the same entry and moves nothing', async () => {
    const accountId = await newAccount();
    const first = await creditPayment(ctx.pool, { accountId, paymentIntentId: 'pi_dup1', amountMinor: 1500, currency: 'usd' });
    const again = await creditPayment(ctx.pool, { accountId, paymentIntentId: 'pi_dup1', amountMinor: 1500, currency: 'usd' });
    expect(first.created).toBe(true);
    expect(again.created).toBe(false);
    expect(again.entry.id).toBe(first.entry.id);
    expect(await getBalances(ctx.pool, accountId)).toEqual([{ currency: 'usd', amountMinor: 1500 }]);
  });

  it('50 concurrent credits for one PaymentIntent write one entry and move the balance once', async () => {
    const accountId = await newAccount();
    const results = await Promise.all(
      Array.from({ length: 50 }, () => creditPayment(ctx.pool, { accountId, paymentIntentId: 'pi_race1', amountMinor: 700, currency: 'eur' })),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.entry.id)).size).toBe(1);
    expect(await getBalances(ctx.pool, accountId)).toEqual([{ currency: 'eur', amountMinor: 700 }]);
    expect(await countRows('SELECT count(*) FROM ledger_entries WHERE payment_intent_id = $1', ['pi_race1'])).toBe(1);
  });

  it('review finding: two legitimate credits sharing a generic reference both apply (explicit keys, not references)', async () => {
    const accountId = await newAccount();
    for (const key of [`admin:${uniqueSuffix()}`, `admin:${uniqueSuffix()}`]) {
      const r = await appendLedgerEntry(ctx.pool, {
        accountId,
        currency: 'usd',
        amountMinor: 250,
        kind: 'admin_credit',
        idempotencyKey: key,
        reference: 'admin_credit',
      });
      expect(r.created).toBe(true);
    }
    expect(await getBalances(ctx.pool, accountId)).toEqual([{ currency: 'usd', amountMinor: 500 }]);
  });

  it('review finding: a conflicting duplicate is refused loudly and never moves a balance without its ledger row', async () => {
    const accountId = await newAccount();
    const other = await newAccount();
    await creditPayment(ctx.pool, { accountId, paymentIntentId: 'pi_conflict1', amountMinor: 1000, currency: 'usd' });
    // Same key, different amount or account, many at once: each is refused and nothing moves.
    const attempts = await Promise.allSettled([
      ...Array.from({ length: 10 }, () => creditPayment(ctx.pool, { accountId, paymentIntentId: 'pi_conflict1', amountMinor: 9999, currency: 'usd' })),
      ...Array.from({ length: 10 }, () => creditPayment(ctx.pool, { accountId: other, paymentIntentId: 'pi_conflict1', amountMinor: 1000, currency: 'usd' })),
    ]);
    expect(attempts.every((a) => a.status === 'rejected' && a.reason instanceof LedgerIdempotencyConflictError)).toBe(true);
    expect(await getBalances(ctx.pool, accountId)).toEqual([{ currency: 'usd', amountMinor: 1000 }]);
    expect(await getBalances(ctx.pool, other)).toEqual([]);
    expect((await verifyLedger(ctx.pool)).ok).toBe(true);
  });

  it('money only moves through the ledger: balances and ledger rows cannot be edited directly', async () => {
    const accountId = await newAccount();
    await creditPayment(ctx.pool, { accountId, paymentIntentId: 'pi_guard1', amountMinor: 100, currency: 'usd' });
    await expect(ctx.pool.query('UPDATE balances SET amount_minor = 1 WHERE account_id = $1', [accountId])).rejects.toThrow(/only through ledger_entries/);
    await expect(ctx.pool.query("INSERT INTO balances (account_id, currency, amount_minor) VALUES ($1, 'gbp', 5)", [accountId])).rejects.toThrow(
      /only through ledger_entries/,
    );
    await expect(ctx.pool.query('UPDATE ledger_entries SET amount_minor = 1 WHERE account_id = $1', [accountId])).rejects.toThrow(/append-only/);
    await expect(ctx.pool.query('DELETE FROM ledger_entries WHERE account_id = $1', [accountId])).rejects.toThrow(/append-only/);
  });

  it('a payment credit row must carry its PaymentIntent key (the CHECK makes a hand-made key impossible)', async () => {
    const accountId = await newAccount();
    await expect(
      appendLedgerEntry(ctx.pool, {
        accountId,
        currency: 'usd',
        amountMinor: 100,
        kind: 'payment_credit',
        idempotencyKey: 'some-other-key-pi_x',
        paymentIntentId: 'pi_shape1',
      }),
    ).rejects.toThrow(/payment_credit_shape/);
    expect(await getBalances(ctx.pool, accountId)).toEqual([]);
  });

  it('lists entries newest first with a seq cursor', async () => {
    const accountId = await newAccount();
    for (let i = 1; i <= 5; i++) await creditPayment(ctx.pool, { accountId, paymentIntentId: `pi_page${i}`, amountMinor: i, currency: 'usd' });
    const page1 = await listLedgerEntries(ctx.pool, accountId, { limit: 3 });
    const page2 = await listLedgerEntries(ctx.pool, accountId, { limit: 3, beforeSeq: page1.at(-1)!.seq });
    expect(page1.map((e) => e.paymentIntentId)).toEqual(['pi_page5', 'pi_page4', 'pi_page3']);
    expect(page2.map((e) => e.paymentIntentId)).toEqual(['pi_page2', 'pi_page1']);
  });
});
