import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTransaction } from '../src/db/pool.js';
import { runPayconfirm, type CliRun } from './support/cli-process.js';
import type { FakeStripe } from './support/fake-stripe/index.js';
import { expectBooksFollowStripe, mirrorOf, movementsOf, paymentSettles } from './support/payment-books.js';
import { creditedAndRefundedByWebhook, startWebhookStack, type WebhookStack } from './support/stripe-webhooks.js';
import { createTestContext, type TestContext } from './support/test-context.js';

/**
 * `payconfirm reconcile` as a subprocess against the real stack: it finds drift planted by hand in the ledger, in
 * the fake Stripe's mirror, and a refund whose webhook never came; exits 1; `--fix` wakes the payment workflow,
 * which converges all three; then it exits 0.
 */
let ctx: TestContext;
let stack: WebhookStack;
let fake: FakeStripe;

beforeAll(async () => {
  ctx = await createTestContext('reconcile');
  stack = await startWebhookStack(ctx);
  ({ fake } = stack);
});
afterAll(async () => {
  await stack?.close();
  await ctx?.close();
});

const reconcile = (args: string[]): Promise<CliRun> =>
  runPayconfirm(['reconcile', ...args], {
    DATABASE_URL: ctx.databaseUrl,
    DATABASE_SCHEMA: ctx.schema,
    TEMPORAL_ADDRESS: ctx.temporalAddress,
    TEMPORAL_TASK_QUEUE: ctx.taskQueue,
    STRIPE_SECRET_KEY: fake.apiKey,
    STRIPE_API_BASE: fake.url,
  });

const creditedAndRefunded = (amount: number, refund: number) => creditedAndRefundedByWebhook(ctx, stack, amount, refund);

const driftOf = (run: CliRun, pi: string) => (run.json?.payments as any[]).find((p) => p.payment_intent_id === pi)?.drift as any[];

describe('payconfirm reconcile', () => {
  it('no drift on converged books: exit 0, the three nets side by side', async () => {
    const { pi } = await creditedAndRefunded(5_000, 1_000);
    const run = await reconcile([pi, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json).toMatchObject({ checked: 1, drifting: 0 });
    expect(run.json.payments[0]).toMatchObject({
      payment_intent_id: pi,
      status: 'credited',
      stripe_net_minor: 4_000,
      intended_net_minor: 4_000,
      ledger_net_minor: 4_000,
      mirror_net_minor: 4_000,
      drift: [],
    });
    const table = await reconcile([pi]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`${pi}\\s+credited\\s+4000 usd\\s+4000\\s+4000\\s+none`));
  });

  it('a refund whose webhook never came: drift on both books; --fix converges them', async () => {
    const { c, pi } = await creditedAndRefunded(6_000, 1_000);
    const missed = fake.refundPaymentIntent(pi, 2_000);
    const before = await reconcile([pi, '--json']);
    expect(before.code).toBe(1);
    expect(driftOf(before, pi)).toEqual([{ kind: 'missing_movement', subject: `stripe:refund:${missed.id}`, detail: 'refund_debit -2000 usd is not in the ledger' }]);
    expect(before.stderr).toContain('drift in 1 PaymentIntent(s); --fix wakes their workflows to converge');

    const fixed = await reconcile([pi, '--fix']);
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
    expect(fixed.stdout).toContain('woke 1 payment workflow(s) to converge');
    const { ledger } = await expectBooksFollowStripe(ctx, fake, pi, { customerId: c.customerId });
    expect(movementsOf(ledger)).toEqual([['payment_credit', 6_000], ['refund_debit', -1_000], ['refund_debit', -2_000]]);
  });

  it('a ledger movement removed by hand: found, and --fix applies it again under its key (the mirror is not doubled)', async () => {
    const { c, pi, refundId } = await creditedAndRefunded(7_000, 3_000);
    const key = `stripe:refund:${refundId}`;
    // Planted: the refund debit and its mirror record vanish, the balance put back as if they had never been.
    await inTransaction(ctx.pool, async (client) => {
      await client.query('SET LOCAL session_replication_role = replica');
      await client.query('DELETE FROM ledger_mirror WHERE movement_key = $1', [key]);
      await client.query('DELETE FROM ledger_entries WHERE idempotency_key = $1', [key]);
      await client.query("UPDATE balances SET amount_minor = amount_minor + 3000 WHERE account_id = $1 AND currency = 'usd'", [c.accountId]);
    });
    const before = await reconcile([pi, '--json']);
    expect(before.code).toBe(1);
    expect(driftOf(before, pi)).toEqual([
      { kind: 'missing_movement', subject: key, detail: 'refund_debit -3000 usd is not in the ledger' },
      expect.objectContaining({ kind: 'unexpected_mirror_transaction' }),
    ]);

    const fixed = await reconcile([pi, '--fix', '--json']);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.json).toMatchObject({ drifting: 0 });
    const { ledger } = await expectBooksFollowStripe(ctx, fake, pi, { customerId: c.customerId });
    expect(movementsOf(ledger)).toEqual([['payment_credit', 7_000], ['refund_debit', -3_000]]);
    expect(mirrorOf(fake, c.customerId, pi).map((t) => t.amount)).toEqual([-7_000, 3_000]);
  });

  it("a mirror transaction gone from the fake Stripe: found, and --fix makes it again under a repair key", async () => {
    const { c, pi, refundId } = await creditedAndRefunded(8_000, 500);
    const key = `stripe:refund:${refundId}`;
    const lost = mirrorOf(fake, c.customerId, pi).find((t) => t.metadata.payconfirm_movement === key)!;
    fake.deleteBalanceTransaction(lost.id);
    const before = await reconcile([pi, '--json']);
    expect(before.code).toBe(1);
    expect(driftOf(before, pi)).toEqual([{ kind: 'mirror_missing_in_stripe', subject: key, detail: `mirror transaction ${lost.id} (500) is not on customer ${c.customerId}` }]);
    expect(before.json.payments[0]).toMatchObject({ ledger_net_minor: 7_500, mirror_net_minor: 8_000 });

    const fixed = await reconcile([pi, '--fix', '--json']);
    expect(fixed.code, fixed.stderr).toBe(0);
    await paymentSettles(ctx, pi);
    await expectBooksFollowStripe(ctx, fake, pi, { customerId: c.customerId });
    const { rows } = await ctx.pool.query('SELECT lost_balance_transaction_id, balance_transaction_id FROM ledger_mirror_repairs WHERE movement_key = $1', [key]);
    const repaired = mirrorOf(fake, c.customerId, pi).find((t) => t.metadata.payconfirm_movement === key)!;
    expect(rows).toEqual([{ lost_balance_transaction_id: lost.id, balance_transaction_id: repaired.id }]);
    expect(fake.requestsTo('POST', `/v1/customers/${c.customerId}/balance_transactions`).at(-1)?.idempotencyKey).toBe(`mirror-repair:${key}:${lost.id}`);
  });

  it('--since lists every PaymentIntent with activity; bad arguments are usage errors', async () => {
    const { pi } = await creditedAndRefunded(1_000, 100);
    const run = await reconcile(['--since', new Date(Date.now() - 3_600_000).toISOString(), '--json']);
    expect(run.json.payments.map((p: { payment_intent_id: string }) => p.payment_intent_id)).toContain(pi);
    const [badPi, badSince, both] = await Promise.all([
      reconcile(['ch_notapi']),
      reconcile(['--since', 'yesterday-ish']),
      reconcile([pi, '--since', '2026-01-01']),
    ]);
    expect(badPi).toMatchObject({ code: 1 });
    expect(badPi.stderr).toContain('not a PaymentIntent id');
    expect(badSince.stderr).toContain('--since wants an ISO date');
    expect(both.stderr).toContain('give PaymentIntent ids or --since, not both');
  });
});
