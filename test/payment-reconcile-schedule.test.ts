import { ScheduleNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { inTransaction } from '../src/db/pool.js';
import { latestReconcileRun } from '../src/reconcile/reconcile-runs.js';
import { ensurePaymentReconcileSchedule, paymentReconcileScheduleId } from '../src/reconcile/payment-reconcile-schedule.js';
import { startWorkerMetricsServer, type RunningWorkerMetricsServer } from '../src/worker/worker-metrics-server.js';
import type { paymentReconcileWorkflow } from '../workflows/payment-reconcile-workflow.js';
import { eventually } from './support/eventually.js';
import type { FakeStripe } from './support/fake-stripe/index.js';
import { waitForAttention } from './support/operator-fixtures.js';
import { expectBooksFollowStripe, movementsOf, paymentSettles } from './support/payment-books.js';
import { newCustomer, newPaymentIntent, type Customer } from './support/payment-fixtures.js';
import { creditedAndRefundedByWebhook, deliver, inboxRowReaches, paymentIntentEvent, startWebhookStack, type WebhookStack } from './support/stripe-webhooks.js';
import { createTestContext, uniqueSuffix, type TestContext } from './support/test-context.js';

/**
 * The scheduled reconcile on the real stack (Temporal dev server, Postgres, real workers and API; fake Stripe): a run
 * finds a refund whose webhook never came and a ledger row deleted by hand (as test/reconcile.test.ts plants them),
 * records and counts the drift, wakes both payments the way `reconcile --fix` does, and they converge; a payment
 * that cannot converge by itself stays in needs_attention and is reported unresolved.
 */
let ctx: TestContext;
let stack: WebhookStack;
let fake: FakeStripe;
let workerMetrics: RunningWorkerMetricsServer;

beforeAll(async () => {
  ctx = await createTestContext('payment-reconcile-schedule');
  stack = await startWebhookStack(ctx);
  ({ fake } = stack);
  workerMetrics = await startWorkerMetricsServer({ metrics: stack.workers.metrics, port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await ctx?.client.schedule.getHandle(paymentReconcileScheduleId(ctx.taskQueue)).delete().catch(() => {});
  await workerMetrics?.close();
  await stack?.close();
  await ctx?.close();
});

/** `name{labels}` → value, from a Prometheus text exposition scraped over HTTP. */
async function scrape(url: string): Promise<Map<string, number>> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  const samples = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (m) samples.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return samples;
}
const apiMetrics = () => scrape(stack.api.metricsUrl);
const workerCounters = () => scrape(workerMetrics.url);

const creditedAndRefunded = (amount: number, refund: number) => creditedAndRefundedByWebhook(ctx, stack, amount, refund);

/** Starts the run the Schedule would start now, and waits for its result. */
async function triggerScheduledRun(scheduleId: string) {
  const schedule = ctx.client.schedule.getHandle(scheduleId);
  const before = new Set((await schedule.describe()).info.recentActions.map((a) => a.action.workflow.workflowId));
  await schedule.trigger();
  const started = await eventually(
    async () => (await schedule.describe()).info.recentActions.find((a) => !before.has(a.action.workflow.workflowId)),
    (action) => action !== undefined,
    { description: 'the triggered reconcile run started' },
  );
  const handle = ctx.client.workflow.getHandle<typeof paymentReconcileWorkflow>(started!.action.workflow.workflowId);
  return { workflowId: handle.workflowId, result: await handle.result() };
}

const findingsOf = async (runId: string) =>
  (
    await ctx.pool.query<{ payment_intent_id: string; status: string; drift: { kind: string; subject: string }[]; drift_after: { kind: string }[] | null; error: string | null }>(
      'SELECT payment_intent_id, status, drift, drift_after, error FROM reconcile_run_findings WHERE run_id = $1 ORDER BY payment_intent_id',
      [runId],
    )
  ).rows;

describe('the reconcile Schedule', () => {
  it('is ensured from the configuration, keeps its state on update, and is deleted when turned off', async () => {
    const taskQueue = `reconcile-schedule-only-${uniqueSuffix()}`;
    const id = await ensurePaymentReconcileSchedule(ctx.client, taskQueue, { intervalMinutes: 1_440, lookbackMinutes: 2_880 });
    expect(id).toBe(paymentReconcileScheduleId(taskQueue));
    const handle = ctx.client.schedule.getHandle(id!);
    const first = await handle.describe();
    expect(first.spec.intervals?.map((i) => i.every)).toEqual([86_400_000]);
    expect(first.action).toMatchObject({ type: 'startWorkflow', workflowType: 'paymentReconcileWorkflow', taskQueue, args: [{ lookbackMinutes: 2_880 }] });
    expect(first.policies.overlap).toBe('SKIP');

    await handle.pause('an operator paused it');
    await ensurePaymentReconcileSchedule(ctx.client, taskQueue, { intervalMinutes: 360, lookbackMinutes: 720 });
    const updated = await handle.describe();
    expect(updated.spec.intervals?.map((i) => i.every)).toEqual([21_600_000]);
    expect(updated.action).toMatchObject({ args: [{ lookbackMinutes: 720 }] });
    expect(updated.state.paused).toBe(true);

    expect(await ensurePaymentReconcileSchedule(ctx.client, taskQueue, { intervalMinutes: null, lookbackMinutes: 720 })).toBeNull();
    await expect(handle.describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
    // Off twice: nothing to delete, no error.
    expect(await ensurePaymentReconcileSchedule(ctx.client, taskQueue, { intervalMinutes: null, lookbackMinutes: 720 })).toBeNull();
  });

  it('RECONCILE_INTERVAL / RECONCILE_LOOKBACK: daily over 2 days by default, `off`, and bad values named', () => {
    const base = { DATABASE_URL: 'postgres://u@localhost/db' };
    expect(loadConfig(base).reconcile).toEqual({ intervalMinutes: 1_440, lookbackMinutes: 2_880 });
    expect(loadConfig({ ...base, RECONCILE_INTERVAL: '6h', RECONCILE_LOOKBACK: '1d' }).reconcile).toEqual({ intervalMinutes: 360, lookbackMinutes: 1_440 });
    expect(loadConfig({ ...base, RECONCILE_INTERVAL: 'off' }).reconcile.intervalMinutes).toBeNull();
    const refused = (env: Record<string, string>) => {
      try {
        loadConfig({ ...base, ...env });
      } catch (err) {
        return err instanceof ConfigError ? err.message : `not a ConfigError: ${String(err)}`;
      }
      return 'accepted';
    };
    expect(refused({ RECONCILE_INTERVAL: 'daily' })).toMatch(/^RECONCILE_INTERVAL must be a duration/);
    expect(refused({ RECONCILE_INTERVAL: '1m' })).toMatch(/^RECONCILE_INTERVAL must be a duration/);
    expect(refused({ RECONCILE_LOOKBACK: 'off' })).toMatch(/^RECONCILE_LOOKBACK must be a duration/);
    expect(refused({ RECONCILE_INTERVAL: '2d', RECONCILE_LOOKBACK: '1d' })).toBe('RECONCILE_LOOKBACK must be at least RECONCILE_INTERVAL (each run must cover the time since the last)');
  });
});

describe('a scheduled reconcile run', () => {
  let converged: { c: Customer; pi: string }[] = [];

  it('finds a refund whose webhook never came and a ledger row deleted by hand; records, counts and converges them', async () => {
    const clean = await creditedAndRefunded(5_000, 1_000);
    const missedRefund = await creditedAndRefunded(6_000, 1_000);
    const missed = fake.refundPaymentIntent(missedRefund.pi, 2_000); // no webhook: only reconcile can see it
    const deleted = await creditedAndRefunded(7_000, 3_000);
    const deletedKey = `stripe:refund:${deleted.refundId}`;
    // Planted as in test/reconcile.test.ts: the refund debit and its mirror record vanish, the balance put back.
    await inTransaction(ctx.pool, async (client) => {
      await client.query('SET LOCAL session_replication_role = replica');
      await client.query('DELETE FROM ledger_mirror WHERE movement_key = $1', [deletedKey]);
      await client.query('DELETE FROM ledger_entries WHERE idempotency_key = $1', [deletedKey]);
      await client.query("UPDATE balances SET amount_minor = amount_minor + 3000 WHERE account_id = $1 AND currency = 'usd'", [deleted.c.accountId]);
    });
    converged = [clean, missedRefund, deleted];
    const countersBefore = await workerCounters();

    const scheduleId = await ensurePaymentReconcileSchedule(ctx.client, ctx.taskQueue, { intervalMinutes: 1_440, lookbackMinutes: 60 });
    const { workflowId, result } = await triggerScheduledRun(scheduleId!);

    expect(result).toMatchObject({ checked: 3, drifting: 2, unresolved: 0, failed: 0 });
    expect(result.runId.startsWith(`${workflowId}/`)).toBe(true);
    // Recorded in Postgres: the run, and what it found per payment (before the wake, and after it settled).
    expect(await latestReconcileRun(ctx.pool)).toMatchObject({ runId: result.runId, checked: 3, drifting: 2, unresolved: 0, failed: 0 });
    const findings = await findingsOf(result.runId);
    expect(findings.map((f) => f.payment_intent_id)).toEqual([missedRefund.pi, deleted.pi].sort());
    const byPi = new Map(findings.map((f) => [f.payment_intent_id, f]));
    expect(byPi.get(missedRefund.pi)).toMatchObject({ status: 'credited', drift: [{ kind: 'missing_movement', subject: `stripe:refund:${missed.id}` }], drift_after: [], error: null });
    expect(byPi.get(deleted.pi)!.drift.map((d) => d.kind)).toEqual(['missing_movement', 'unexpected_mirror_transaction']);
    expect(byPi.get(deleted.pi)!.drift[0]!.subject).toBe(deletedKey);
    expect(byPi.get(deleted.pi)!.drift_after).toEqual([]);

    // Counted by the worker that closed the run, and reported by the API's gauges from Postgres.
    const counters = await workerCounters();
    const moved = (name: string) => (counters.get(name) ?? 0) - (countersBefore.get(name) ?? 0);
    expect(moved('payconfirm_reconcile_runs_total')).toBe(1);
    expect(moved('payconfirm_reconcile_payments_checked_total')).toBe(3);
    expect(moved('payconfirm_reconcile_drift_found_total{resolution="converged"}')).toBe(2);
    expect(moved('payconfirm_reconcile_drift_found_total{resolution="unresolved"}')).toBe(0);
    const gauges = await apiMetrics();
    expect(gauges.get('payconfirm_reconcile_drift_payments')).toBe(2);
    expect(gauges.get('payconfirm_reconcile_unresolved_payments')).toBe(0);
    expect(Math.abs(gauges.get('payconfirm_reconcile_last_run_timestamp_seconds')! - Date.now() / 1_000)).toBeLessThan(120);

    // Woken like `reconcile --fix`, both payments converged: the missed refund debited, the deleted row back under its key.
    const missedBooks = await expectBooksFollowStripe(ctx, fake, missedRefund.pi, { customerId: missedRefund.c.customerId });
    expect(movementsOf(missedBooks.ledger)).toEqual([['payment_credit', 6_000], ['refund_debit', -1_000], ['refund_debit', -2_000]]);
    const deletedBooks = await expectBooksFollowStripe(ctx, fake, deleted.pi, { customerId: deleted.c.customerId });
    expect(movementsOf(deletedBooks.ledger)).toEqual([['payment_credit', 7_000], ['refund_debit', -3_000]]);
    await expectBooksFollowStripe(ctx, fake, clean.pi, { customerId: clean.c.customerId });
  });

  it('a payment that cannot converge by itself stays in needs_attention: unresolved, and every gauge says so', async () => {
    expect(converged).toHaveLength(3); // the payments of the test above, converged since
    const plain = await newCustomer(ctx, fake);
    const plainPi = newPaymentIntent(fake, plain.customerId, { amount: 4_000 }); // credited, never refunded
    const plainEvent = paymentIntentEvent(fake, 'payment_intent.succeeded', plainPi);
    expect((await deliver(stack.api.url, plainEvent)).status).toBe(200);
    await inboxRowReaches(ctx.pool, plainEvent.id, 'processed');
    await paymentSettles(ctx, plainPi);
    const odd = await newCustomer(ctx, fake);
    const oddPi = newPaymentIntent(fake, odd.customerId, { amount: 1_400, currency: 'us$' });
    const oddEvent = paymentIntentEvent(fake, 'payment_intent.succeeded', oddPi);
    expect((await deliver(stack.api.url, oddEvent)).status).toBe(200);
    await waitForAttention(ctx, oddPi, 'amount_anomaly');
    await eventually(apiMetrics, (m) => m.get('payconfirm_payments_needs_attention') === 1, { description: 'needs_attention gauge at 1' });

    const countersBefore = await workerCounters();
    const requestsBefore = fake.requests.length;
    // Run directly, as the Schedule would start it (its own workflow id), in pages of 2, one page per workflow run:
    // it continues as new twice, and the totals carry over.
    const handle = await ctx.client.workflow.start<typeof paymentReconcileWorkflow>('paymentReconcileWorkflow', {
      taskQueue: ctx.taskQueue,
      workflowId: `payment-reconcile-direct-${uniqueSuffix()}`,
      args: [{ lookbackMinutes: 60, settleTimeoutSeconds: 30, pageSize: 2, pagesPerRun: 1 }],
    });
    const result = await handle.result();
    const requests = fake.requests.slice(requestsBefore);
    expect(result.runId).toBe(`${handle.workflowId}/${handle.firstExecutionRunId}`);
    const { events } = await ctx.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).fetchHistory();
    expect(events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();

    expect(result).toMatchObject({ checked: 5, drifting: 1, unresolved: 1, failed: 0 });
    const [finding] = await findingsOf(result.runId);
    const oddDrift = [
      { kind: 'needs_attention', subject: oddPi, detail: 'amount_anomaly: currency "us$" is not an ISO code' },
      { kind: 'missing_movement', subject: `stripe:payment_intent:${oddPi}`, detail: 'payment_credit 1400 us$ is not in the ledger' },
    ];
    expect(finding).toEqual({ payment_intent_id: oddPi, status: 'needs_attention', drift: oddDrift, drift_after: oddDrift, error: null });
    // Woken, it still waits for an operator: the run left it there.
    expect((await waitForAttention(ctx, oddPi, 'amount_anomaly')).attention?.reason).toBe('amount_anomaly');

    const counters = await workerCounters();
    expect((counters.get('payconfirm_reconcile_drift_found_total{resolution="unresolved"}') ?? 0) - (countersBefore.get('payconfirm_reconcile_drift_found_total{resolution="unresolved"}') ?? 0)).toBe(1);
    const gauges = await apiMetrics();
    expect(gauges.get('payconfirm_reconcile_drift_payments')).toBe(1);
    expect(gauges.get('payconfirm_reconcile_unresolved_payments')).toBe(1);
    expect(gauges.get('payconfirm_payments_needs_attention')).toBe(1);

    // Stripe requests per reconciled payment, all reads: the PaymentIntent (with its charge), its refunds when it has
    // some, the customer's balance transactions once it is credited. Nothing else woke a payment that makes requests.
    expect(requests.every((r) => r.method === 'GET')).toBe(true);
    const of = (pi: string, customerId: string) =>
      requests.filter((r) => r.path === `/v1/payment_intents/${pi}` || (r.path === '/v1/refunds' && r.query.payment_intent === pi) || r.path === `/v1/customers/${customerId}/balance_transactions`).length;
    for (const { c, pi } of converged) expect(of(pi, c.customerId), `requests for ${pi}`).toBe(3);
    expect(of(plainPi, plain.customerId)).toBe(2);
    // Not credited (no account of record, no mirror to list): one read, twice (found, then checked again after the wake).
    expect(of(oddPi, odd.customerId)).toBe(2);
    expect(requests).toHaveLength(3 * 3 + 2 + 2);
  });
});
