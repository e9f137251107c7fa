import { WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyLedger } from '../src/db/ledger-verify.js';
import { startOrAttachPayment } from '../src/temporal/payment-workflow-client.js';
import { waitUntil, type FakeStripe, type FaultHandle } from './support/fake-stripe/index.js';
import { eventually } from './support/eventually.js';
import { moneyFor, newCustomer, newPaymentIntent, type Customer } from './support/payment-fixtures.js';
import { balanceTransactionsPath, ledgerCreditIds, paymentIntentPath, paymentStarter } from './support/payment-probes.js';
import { callApi, type TestApi } from './support/test-api.js';
import { startPaymentStack, type PaymentStack } from './support/payment-stack.js';
import { stripeClientFor, type TestContext } from './support/test-context.js';

/**
 * Invariants 2 and 3 when the workflow's history is gone (past Temporal's retention, or deleted) and Stripe's
 * 24-hour idempotency window has passed: a new run starts from nothing, and only the ledger's unique key and
 * the Stripe lookup stand between it and a second credit.
 */
let stack: PaymentStack;
let ctx: TestContext;
let fake: FakeStripe;
let api: TestApi;

beforeAll(async () => {
  stack = await startPaymentStack('history-loss', { confirmWaitMs: 15_000 });
  ({ ctx, fake, api } = stack);
});
afterAll(async () => {
  await stack?.close();
});

const confirm = (c: Customer, pi: string) => callApi(api.url, 'POST', '/billing/confirm_payment', { apiKey: c.apiKey, body: { payment_intent_id: pi } });

/** Terminates the payment's run if it still runs, deletes its history and waits until Temporal has no run of it. */
async function loseHistory(pi: string): Promise<void> {
  const handle = ctx.client.workflow.getHandle(pi);
  const { runId, status } = await handle.describe();
  if (status.name === 'RUNNING') await handle.terminate('test: history lost');
  await ctx.connection.workflowService.deleteWorkflowExecution({ namespace: 'default', workflowExecution: { workflowId: pi, runId } });
  await eventually(
    () => handle.describe().then(() => false, (err: unknown) => err instanceof WorkflowNotFoundError),
    Boolean,
    { timeoutMs: 90_000, intervalMs: 500, description: `history of ${pi} deleted` },
  );
}

/** One payment, stopped by its first run at a known step (held there by `fault`), then checked after history loss. */
interface Scenario {
  name: string;
  c: Customer;
  pi: string;
  amount: number;
  fault?: FaultHandle;
  /** Run 1 is at its step (or finished, without a fault). */
  frozen(): Promise<boolean>;
  /** What run 1 left behind, recorded before its history is lost. */
  before?: { ledgerEntryId: string | undefined; balanceTransactionIds: string[]; posts: number };
}

async function scenario(name: string, amount: number, freeze: (c: Customer, pi: string) => Pick<Scenario, 'fault' | 'frozen'>): Promise<Scenario> {
  const c = await newCustomer(ctx, fake);
  const pi = newPaymentIntent(fake, c.customerId, { amount });
  return { name, c, pi, amount, ...freeze(c, pi) };
}

/** The one ledger credit, the one Stripe balance transaction, the mark naming both. */
async function expectOneCredit(s: Scenario) {
  const money = await moneyFor(ctx, fake, s.pi, s.c.customerId);
  expect(money.ledgerCredits, s.name).toEqual([{ id: expect.any(String), amount_minor: s.amount }]);
  expect(money.stripeCredits, s.name).toHaveLength(1);
  expect(money.stripeCredits[0], s.name).toMatchObject({ amount: -s.amount, metadata: { payment_intent: s.pi } });
  expect(money.paymentIntent?.metadata, s.name).toMatchObject({
    payconfirm_credited: 'true',
    payconfirm_ledger_entry_id: money.ledgerCredits[0]!.id,
    payconfirm_balance_transaction_id: money.stripeCredits[0]!.id,
  });
  return money;
}

const postsTo = (s: Scenario) =>
  fake.requests.filter((r) => r.method === 'POST' && (balanceTransactionsPath(s.c.customerId).test(r.path) || paymentIntentPath(s.pi).test(r.path)));

describe('payment workflow terminated mid-way, history deleted, Stripe idempotency keys expired, confirmed again', () => {
  it('at each step — after the ledger credit, after the Stripe credit, after the mark, after completion — one credit, one Stripe transaction', { timeout: 170_000 }, async () => {
    // Temporal deletes a history asynchronously (5–55 s on the dev server): all four payments go at once.
    const scenarios = await Promise.all([
      scenario('after the ledger credit (Stripe POST never executed)', 5_100, (c, pi) => {
        const fault = fake.faults.add({ kind: 'timeout', applied: false, method: 'POST', path: balanceTransactionsPath(c.customerId) });
        return { fault, frozen: async () => fault.held === 1 && (await ledgerCreditIds(ctx, pi)).length === 1 };
      }),
      scenario('after the Stripe balance transaction (answer lost)', 5_200, (c) => {
        const fault = fake.faults.add({ kind: 'timeout', applied: true, method: 'POST', path: balanceTransactionsPath(c.customerId) });
        return { fault, frozen: async () => fault.held === 1 && fake.balanceTransactions(c.customerId).length === 1 };
      }),
      scenario('after the mark (answer lost)', 5_300, (_c, pi) => {
        const fault = fake.faults.add({ kind: 'timeout', applied: true, method: 'POST', path: paymentIntentPath(pi) });
        return { fault, frozen: async () => fault.held === 1 && fake.getPaymentIntent(pi)?.metadata.payconfirm_credited === 'true' };
      }),
      scenario('after completion, its mark then erased from the PaymentIntent', 5_400, (_c, pi) => ({
        frozen: async () => fake.getPaymentIntent(pi)?.metadata.payconfirm_credited === 'true' && (await ctx.client.workflow.getHandle(pi).describe()).status.name === 'COMPLETED',
      })),
    ]);

    await Promise.all(scenarios.map((s) => startOrAttachPayment(paymentStarter(ctx), s.pi, `history loss test, run 1: ${s.name}`)));
    for (const s of scenarios) {
      await eventually(s.frozen, Boolean, { timeoutMs: 10_000, description: `run 1 frozen ${s.name}` });
      s.before = {
        ledgerEntryId: (await ledgerCreditIds(ctx, s.pi))[0],
        balanceTransactionIds: fake.balanceTransactions(s.c.customerId).map((t) => t.id),
        posts: postsTo(s).length,
      };
    }
    await Promise.all(scenarios.map((s) => loseHistory(s.pi)));
    // Run 1's activities give up (the SDK's request timeout) and their clients leave: nothing of run 1 is in flight.
    await waitUntil(() => scenarios.every((s) => (s.fault?.held ?? 0) === 0), { timeoutMs: 10_000, description: 'run 1 requests abandoned' });
    fake.faults.clear();
    fake.expireIdempotencyKeys();
    const [beforeStripe, afterStripe, afterMark, completed] = scenarios as [Scenario, Scenario, Scenario, Scenario];
    await clearMark(completed.pi);
    const completedPostsBeforeRerun = postsTo(completed).length;

    // Confirmed again: a new run for every payment still short of its mark.
    for (const s of [beforeStripe, afterStripe]) {
      const res = await confirm(s.c, s.pi);
      expect(res.status, s.name).toBe(200);
      // The ledger entry is run 1's: the new run found it by its unique key instead of crediting again (DB guard).
      expect(res.body, s.name).toMatchObject({ status: 'already_credited', ledger_entry_id: s.before!.ledgerEntryId, amount_minor: s.amount });
      await expectOneCredit(s);
    }
    expect(fake.balanceTransactions(beforeStripe.c.customerId)).toHaveLength(1);
    // After the Stripe credit the key had expired, so a POST would have made a second transaction: the lookup stopped it.
    expect(fake.balanceTransactions(afterStripe.c.customerId).map((t) => t.id)).toEqual(afterStripe.before!.balanceTransactionIds);
    expect(postsTo(afterStripe).filter((r) => balanceTransactionsPath(afterStripe.c.customerId).test(r.path))).toHaveLength(1);

    // Marked: confirm answers from the ledger and the mark; a new run (as a late webhook starts one) writes nothing.
    const marked = await confirm(afterMark.c, afterMark.pi);
    expect(marked.body).toMatchObject({ status: 'already_credited', ledger_entry_id: afterMark.before!.ledgerEntryId });
    for (const s of [afterMark, completed]) {
      const outcome = await (await startOrAttachPayment(paymentStarter(ctx), s.pi, `history loss test, run 2: ${s.name}`)).result();
      expect(outcome, s.name).toMatchObject({ status: 'credited', ledgerEntryId: s.before!.ledgerEntryId, ledgerEntryCreated: false });
      const money = await expectOneCredit(s);
      expect(money.stripeCredits.map((t) => t.id), s.name).toEqual(s.before!.balanceTransactionIds);
    }
    expect(postsTo(afterMark)).toHaveLength(afterMark.before!.posts);
    // The erased mark is written again; the balance transaction is found by lookup, not posted.
    expect(postsTo(completed).slice(completedPostsBeforeRerun).map((r) => [r.path, r.idempotencyKey])).toEqual([
      [`/v1/payment_intents/${completed.pi}`, `credit-mark:${completed.pi}`],
    ]);

    expect(await verifyLedger(ctx.pool)).toMatchObject({ ok: true });
  });
});

/** Empties payconfirm's metadata on the PaymentIntent through the Stripe API (as a dashboard edit would). */
async function clearMark(pi: string): Promise<void> {
  await stripeClientFor(fake.url).paymentIntents.update(pi, { metadata: { payconfirm_credited: '', payconfirm_ledger_entry_id: '', payconfirm_balance_transaction_id: '' } });
  expect(fake.getPaymentIntent(pi)?.metadata).not.toHaveProperty('payconfirm_credited');
}
