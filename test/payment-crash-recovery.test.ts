import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyLedger } from '../src/db/ledger-verify.js';
import { startOrAttachPayment, type PaymentHandle } from '../src/temporal/payment-workflow-client.js';
import { startFakeStripe, waitUntil, type FakeStripe, type FaultHandle } from './support/fake-stripe/index.js';
import { eventually } from './support/eventually.js';
import { moneyFor, newCustomer, newPaymentIntent, type Customer } from './support/payment-fixtures.js';
import { balanceTransactionsPath, ledgerCreditIds, paymentIntentPath, paymentStarter } from './support/payment-probes.js';
import { createTestContext, type TestContext } from './support/test-context.js';
import { startWorkerProcess, type WorkerProcess } from './support/worker-process.js';

let ctx: TestContext;
let fake: FakeStripe;
const children: WorkerProcess[] = [];

beforeAll(async () => {
  ctx = await createTestContext('crash');
  fake = await startFakeStripe();
});
afterAll(async () => {
  await Promise.allSettled(children.map((w) => w.stop(5_000)));
  await fake?.close();
  await ctx?.close();
});

/** A fresh worker child process (tracked so afterAll stops whatever a failed test left running). */
async function freshWorker(): Promise<WorkerProcess> {
  const worker = await startWorkerProcess(ctx, { stripeApiBase: fake.url, stripeTimeoutMs: 9_000 });
  children.push(worker);
  return worker;
}

/** A payment whose worker will be frozen at one known point; `frozen()` says when it is there. */
interface FreezePoint {
  name: string;
  customer: Customer;
  pi: string;
  fault: FaultHandle;
  frozen(): Promise<boolean>;
}

const ledgerCredits = async (pi: string) => (await ledgerCreditIds(ctx, pi)).length;

type FreezePlan = (customer: Customer, pi: string) => Pick<FreezePoint, 'fault' | 'frozen'>;

async function freezePoint(name: string, plan: FreezePlan, amount: number): Promise<FreezePoint> {
  const customer = await newCustomer(ctx, fake);
  const pi = newPaymentIntent(fake, customer.customerId, { amount });
  return { name, customer, pi, ...plan(customer, pi) };
}

/** The four points a crash can hit, each frozen with a fake Stripe fault and recognised by what has happened. */
const FREEZE_PLANS: Record<string, FreezePlan> = {
  // Nothing done yet: the PaymentIntent read is in flight.
  'while loading the PaymentIntent': (_c, pi) => {
    const fault = fake.faults.add({ kind: 'timeout', method: 'GET', path: paymentIntentPath(pi) });
    return { fault, frozen: async () => fault.held === 1 };
  },
  // Ledger credited; the Stripe balance transaction POST is in flight and not applied.
  'after the ledger credit': (c, pi) => {
    const fault = fake.faults.add({ kind: 'timeout', applied: false, method: 'POST', path: balanceTransactionsPath(c.customerId) });
    return { fault, frozen: async () => fault.held === 1 && (await ledgerCredits(pi)) === 1 };
  },
  // Stripe balance transaction created; its response never reaches the worker.
  'after the Stripe balance transaction': (c, pi) => {
    const fault = fake.faults.add({ kind: 'timeout', applied: true, method: 'POST', path: balanceTransactionsPath(c.customerId) });
    return { fault, frozen: async () => fault.held === 1 && fake.balanceTransactions(c.customerId).length === 1 && (await ledgerCredits(pi)) === 1 };
  },
  // PaymentIntent marked credited; the update's response never reaches the worker.
  'after the PaymentIntent mark': (_c, pi) => {
    const fault = fake.faults.add({ kind: 'timeout', applied: true, method: 'POST', path: paymentIntentPath(pi) });
    return { fault, frozen: async () => fault.held === 1 && fake.getPaymentIntent(pi)?.metadata.payconfirm_credited === 'true' };
  },
};

/** Exactly once, everywhere: one ledger credit, one Stripe balance transaction, one mark, all naming each other. */
async function expectCreditedOnce(point: Pick<FreezePoint, 'name' | 'customer' | 'pi'>, handle: PaymentHandle): Promise<void> {
  const outcome = await handle.result();
  expect(outcome, point.name).toMatchObject({ status: 'credited', paymentIntentId: point.pi, accountId: point.customer.accountId });
  if (outcome.status !== 'credited') return;
  const money = await moneyFor(ctx, fake, point.pi, point.customer.customerId);
  expect(money.ledgerCredits, point.name).toEqual([{ id: outcome.ledgerEntryId, amount_minor: outcome.amountMinor }]);
  expect(money.stripeCredits, point.name).toHaveLength(1);
  expect(money.stripeCredits[0], point.name).toMatchObject({ id: outcome.balanceTransactionId, amount: -outcome.amountMinor });
  expect(money.paymentIntent?.metadata, point.name).toMatchObject({
    payconfirm_credited: 'true',
    payconfirm_ledger_entry_id: outcome.ledgerEntryId,
    payconfirm_balance_transaction_id: outcome.balanceTransactionId,
  });
  // Every Stripe write went out under its one deterministic key: Stripe executes each key at most once.
  const keys = (method: string, path: RegExp) => new Set(fake.requestsTo(method, path).map((r) => r.idempotencyKey));
  expect(keys('POST', balanceTransactionsPath(point.customer.customerId)), point.name).toEqual(new Set([`credit-tx:${point.pi}`]));
  expect(keys('POST', paymentIntentPath(point.pi)), point.name).toEqual(new Set([`credit-mark:${point.pi}`]));
}

describe('worker killed with SIGKILL (a real child process) mid-payment', () => {
  it('at each step — loading, after the ledger credit, after the Stripe credit, after the mark — a fresh worker finishes each payment once', async () => {
    const points = await Promise.all(Object.entries(FREEZE_PLANS).map(([name, plan], i) => freezePoint(name, plan, 2_100 + 100 * i)));
    const doomed = await freshWorker();
    const handles = await Promise.all(points.map((p) => startOrAttachPayment(paymentStarter(ctx), p.pi, `crash test: ${p.name}`)));

    for (const p of points) {
      await eventually(p.frozen, Boolean, { timeoutMs: 8_000, description: `payment frozen ${p.name}` });
    }
    await doomed.kill();
    expect(await doomed.exited).toMatchObject({ signal: 'SIGKILL' });
    // The dead worker's connections are gone: held requests were abandoned, nothing was answered to anyone.
    await waitUntil(() => points.every((p) => p.fault.held === 0), { description: 'held requests abandoned' });
    for (const p of points) expect(p.fault.remaining).toBe(0);

    const survivor = await freshWorker();
    for (const [i, p] of points.entries()) await expectCreditedOnce(p, handles[i]!);
    expect(await verifyLedger(ctx.pool)).toMatchObject({ ok: true });
    await survivor.stop();
  });

  it('one payment killed twice in turn (after the ledger credit, then after the Stripe credit): the third worker finishes it once', async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { amount: 7_700 });
    const beforeStripe = fake.faults.add({ kind: 'timeout', applied: false, method: 'POST', path: balanceTransactionsPath(c.customerId) });

    const first = await freshWorker();
    const handle = await startOrAttachPayment(paymentStarter(ctx), pi, 'crash test: killed twice');
    await eventually(async () => beforeStripe.held === 1 && (await ledgerCredits(pi)) === 1, Boolean, { timeoutMs: 8_000, description: 'frozen before Stripe' });
    await first.kill();
    await waitUntil(() => beforeStripe.held === 0, { description: 'held POST abandoned' });
    expect(fake.balanceTransactions(c.customerId)).toHaveLength(0);

    // The retried activity's POST is applied, then its answer is held: kill the second worker there.
    const afterStripe = fake.faults.add({ kind: 'timeout', applied: true, method: 'POST', path: balanceTransactionsPath(c.customerId) });
    const second = await freshWorker();
    await eventually(async () => afterStripe.held === 1, Boolean, { timeoutMs: 30_000, description: 'frozen after the Stripe credit' });
    expect(fake.balanceTransactions(c.customerId)).toHaveLength(1);
    await second.kill();

    const third = await freshWorker();
    await expectCreditedOnce({ name: 'killed twice', customer: c, pi }, handle);
    // The third worker found the transaction by lookup instead of posting again.
    expect(fake.requestsTo('POST', balanceTransactionsPath(c.customerId))).toHaveLength(2);
    expect(await verifyLedger(ctx.pool)).toMatchObject({ ok: true });
    await third.stop();
  });
});
