import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyLedger } from '../src/db/ledger-verify.js';
import type { PaymentState } from '../src/domain/payment.js';
import { listStuckPayments, queryPaymentState } from '../src/temporal/payment-operations.js';
import { runPayconfirm, type CliRun } from './support/cli-process.js';
import { eventually } from './support/eventually.js';
import { startFakeStripe, type FakeStripe } from './support/fake-stripe/index.js';
import { outcomeOf, startPayment, terminateRunning } from './support/operator-fixtures.js';
import { moneyFor, newCustomer, newPaymentIntent } from './support/payment-fixtures.js';
import { createTestContext, startTestWorkers, stripeClientFor, type RunningWorkers, type TestContext } from './support/test-context.js';

/**
 * `payconfirm payments retry --all` against the real stack: 50 payments stuck for a reason a retry cures (Stripe
 * failed every attempt of the mirror step's retry budget), the cause fixed, then one bulk retry.
 */
const STUCK = 50;

let ctx: TestContext;
let fake: FakeStripe;
let workers: RunningWorkers;

beforeAll(async () => {
  ctx = await createTestContext('bulk-retry');
  fake = await startFakeStripe();
  workers = await startTestWorkers(ctx, { stripe: stripeClientFor(fake.url) });
});
afterAll(async () => {
  if (ctx) await terminateRunning(ctx);
  await workers?.stop();
  await fake?.close();
  await ctx?.close();
});

/** The real CLI as a subprocess, against this file's Temporal task queue. */
const payconfirm = (args: string[]): Promise<CliRun> =>
  runPayconfirm(args, { TEMPORAL_ADDRESS: ctx.temporalAddress, TEMPORAL_TASK_QUEUE: ctx.taskQueue });

const stateOf = (pi: string): Promise<PaymentState> => queryPaymentState(ctx.client, pi);

describe('payments retry --all', () => {
  it('refuses what it must before touching Temporal: no --yes, reject/skip-mirror --all, an unknown attention reason', async () => {
    const runs = await Promise.all([
      payconfirm(['payments', 'retry', '--all']),
      payconfirm(['payments', 'skip-mirror', '--all', '--reason', 'customer deleted', '--yes']),
      payconfirm(['payments', 'retry', '--all', '--yes', '--attention-reason', 'bad_luck']),
    ]);
    expect(runs.map((r) => r.code)).toEqual([1, 1, 1]);
    expect(runs[0]!.stderr).toContain('retry --all changes every payment it selects: run it with --dry-run first, then with --yes');
    expect(runs[1]!.stderr).toContain('skip-mirror takes one payment at a time (no --all)');
    expect(runs[2]!.stderr).toContain('--attention-reason is one of');
  });

  it(`a dry run lists the ${STUCK} stuck payments and changes nothing; --yes retries them with progress and credits each exactly once`, { timeout: 240_000 }, async () => {
    // Stripe fails every balance-transaction POST: each payment is credited in the ledger, then spends the mirror
    // step's whole retry budget and waits at crediting_stripe (retries_exhausted).
    const outage = fake.faults.add({ kind: 'error', status: 500, method: 'POST', path: /^\/v1\/customers\/[^/]+\/balance_transactions$/, times: Infinity });
    const customers = await Promise.all(Array.from({ length: STUCK }, () => newCustomer(ctx, fake)));
    const payments = customers.map((c, i) => ({ customerId: c.customerId, pi: newPaymentIntent(fake, c.customerId, { amount: 1_000 + i }), amount: 1_000 + i }));
    // Two payments stuck for a reason a retry does not cure (amount_anomaly): the --attention-reason filter leaves them alone.
    const decoyCustomer = await newCustomer(ctx, fake);
    const decoys = [newPaymentIntent(fake, decoyCustomer.customerId, { amount: 0 }), newPaymentIntent(fake, decoyCustomer.customerId, { amount: 0 })];
    await Promise.all([...payments.map((p) => p.pi), ...decoys].map((pi) => startPayment(ctx, pi)));

    const setupStarted = Date.now();
    // Every one waits, and visibility (eventually consistent) lists them all.
    const listed = await eventually(
      () => listStuckPayments(ctx.client, { taskQueue: ctx.taskQueue }),
      (list) => list.length === STUCK + decoys.length && list.every((p) => p.reason !== null),
      { timeoutMs: 150_000, intervalMs: 500, description: `${STUCK + decoys.length} payments in needs_attention` },
    );
    console.info(`${STUCK + decoys.length} payments stuck after ${Date.now() - setupStarted} ms`);
    const waitingSince = new Map(listed.map((p) => [p.paymentIntentId, p.since]));
    for (const { pi } of payments) expect(listed.find((p) => p.paymentIntentId === pi)).toMatchObject({ reason: 'retries_exhausted', failedStage: 'crediting_stripe' });
    for (const pi of decoys) expect(listed.find((p) => p.paymentIntentId === pi)).toMatchObject({ reason: 'amount_anomaly' });
    expect(outage.hits).toBeGreaterThanOrEqual(STUCK); // each met the outage

    outage.remove(); // the cause is fixed: Stripe answers again

    const [dryJson, dryAll] = await Promise.all([
      payconfirm(['payments', 'retry', '--all', '--dry-run', '--attention-reason', 'retries_exhausted', '--json']),
      payconfirm(['payments', 'retry', '--all', '--dry-run']),
    ]);
    expect(dryJson.code).toBe(0);
    expect(dryJson.json).toMatchObject({ action: 'retry', dry_run: true, selected: STUCK, filters: { task_queue: ctx.taskQueue, attention_reason: 'retries_exhausted' } });
    expect(dryJson.json.payments.map((p: { payment_intent_id: string }) => p.payment_intent_id).sort()).toEqual(payments.map((p) => p.pi).sort());
    expect(dryAll.code).toBe(0);
    expect(dryAll.stdout).toContain(`dry run: would retry ${STUCK + decoys.length} payment(s) on task queue ${ctx.taskQueue}; nothing was changed`);
    for (const { pi } of payments) expect(dryAll.stdout).toMatch(new RegExp(`^${pi}\\s.*retries_exhausted`, 'm'));
    // Nothing changed: every payment still waits since the same instant, and nothing reached Stripe's mirror.
    for (const pi of [...payments.map((p) => p.pi), ...decoys]) {
      const state = await stateOf(pi);
      expect(state.stage, pi).toBe('needs_attention');
      expect(state.attention?.since, pi).toBe(waitingSince.get(pi));
    }
    expect(fake.balanceTransactions()).toEqual([]);

    const started = Date.now();
    const run = await payconfirm(['payments', 'retry', '--all', '--yes', '--attention-reason', 'retries_exhausted', '--json']);
    const bulkMs = Date.now() - started;
    expect(run.code, run.stderr).toBe(0);
    expect(run.json.summary).toEqual({ credited: STUCK, rejected: 0, not_payable: 0, not_eligible: 0, waiting_again: 0, running: 0, refused: 0, failed: 0 });
    expect(run.json.payments).toHaveLength(STUCK);
    // Progress on stderr: a line per 10 payments done (the default concurrency), the last at 50/50.
    const progress = [...run.stderr.matchAll(/^retried (\d+)\/(\d+): (.*)$/gm)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(progress).toEqual([10, 20, 30, 40, 50].map((done) => [done, STUCK]));
    expect(run.stderr).toMatch(new RegExp(`^retried ${STUCK}/${STUCK}: ${STUCK} credited$`, 'm'));
    console.info(`bulk retry of ${STUCK} payments: ${bulkMs} ms (CLI process included)`);

    // Each is credited exactly once: one ledger credit, one Stripe mirror transaction, the PaymentIntent marked.
    await Promise.all(
      payments.map(async ({ pi, customerId, amount }) => {
        expect(await outcomeOf(ctx, pi)).toMatchObject({ status: 'credited', amountMinor: amount });
        const money = await moneyFor(ctx, fake, pi, customerId);
        expect(money.ledgerCredits.map((r) => r.amount_minor), pi).toEqual([amount]);
        expect(money.stripeCredits.map((t) => t.amount), pi).toEqual([-amount]);
        expect(money.paymentIntent?.metadata).toMatchObject({ payconfirm_credited: 'true', payconfirm_balance_transaction_id: money.stripeCredits[0]!.id });
      }),
    );
    expect(fake.balanceTransactions()).toHaveLength(STUCK);
    expect((await verifyLedger(ctx.pool)).ok).toBe(true);
    // The decoys were not touched.
    for (const pi of decoys) expect((await stateOf(pi)).attention?.since).toBe(waitingSince.get(pi));

    // Run again: visibility may still list the retried payments, but their state query does not; nothing is selected.
    const again = await payconfirm(['payments', 'retry', '--all', '--yes', '--attention-reason', 'retries_exhausted']);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(`No stuck payments on task queue ${ctx.taskQueue}, waiting for retries_exhausted; nothing retried.\n`);
    expect(fake.balanceTransactions()).toHaveLength(STUCK);

    // Without the filter, --limit 1 takes the oldest remaining wait, a decoy: retried, it waits again (exit 2).
    const decoyRun = await payconfirm(['payments', 'retry', '--all', '--yes', '--limit', '1']);
    expect(decoyRun.code).toBe(2);
    const [retried, ...more] = decoys.filter((pi) => decoyRun.stdout.includes(pi));
    expect(more).toEqual([]);
    const untouched = decoys.find((pi) => pi !== retried)!;
    expect(waitingSince.get(retried!)! <= waitingSince.get(untouched)!).toBe(true);
    expect(decoyRun.stdout).toMatch(new RegExp(`^${retried}\\s+waiting_again\\s+amount_anomaly at loading: amount_received is 0$`, 'm'));
    expect(decoyRun.stdout).toContain('retry --all: 1 payment(s): 1 waiting again.');
    expect((await stateOf(retried!)).attention?.since).not.toBe(waitingSince.get(retried!));
    expect((await stateOf(untouched)).attention?.since).toBe(waitingSince.get(untouched));
  });
});
