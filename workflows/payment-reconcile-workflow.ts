import { ActivityFailure, ApplicationFailure, continueAsNew, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { PaymentReconcileActivities, PaymentCheck, ReconcileStripeActivities } from '../activities/payment-reconcile-activities.js';
import type { ActivityCursor } from '../src/reconcile/active-payment-intents.js';
import type { ReconcileFinding, ReconcileRunSummary } from '../src/reconcile/reconcile-runs.js';
import { PRIORITY } from '../src/temporal/priorities.js';
import { stripeTaskQueueFor } from '../src/temporal/task-queues.js';

/**
 * The scheduled reconcile (run daily by a Temporal Schedule, src/reconcile/payment-reconcile-schedule.ts): the
 * comparison `payconfirm reconcile` makes, for every PaymentIntent with activity in the lookback, then the wake
 * `--fix` sends to each one that drifts. Page by page:
 *
 * 1. the next page of recently active PaymentIntents (Postgres: a keyset walk of each source's window,
 *    src/reconcile/active-payment-intents.ts; a page may name none, the walk ends when its cursor does);
 * 2. one `reconcilePaymentBooks` activity per PaymentIntent on the Stripe queue (its rate limit paces them);
 * 3. the drifting ones: their payment workflow woken with the reconcile notice (it converges from Stripe or waits in
 *    needs_attention for an operator), awaited until it settles, then compared again;
 * 4. the page's findings stored in Postgres (and logged).
 *
 * The run ends by closing its row in `reconcile_runs` (totals, log line, metrics). Long runs continue as new every
 * few pages, carrying only the cursor and the count. It never moves money itself.
 */
export interface PaymentReconcileInput {
  /** PaymentIntents with any activity in this many minutes before the run are checked. */
  lookbackMinutes: number;
  /** How long to wait for woken payments to settle before comparing them again (default 300). */
  settleTimeoutSeconds?: number;
  /** PaymentIntents per page (default 100). */
  pageSize?: number;
  /** Comparisons in flight at once (default 4; the Stripe queue's rate limit paces them anyway). */
  concurrency?: number;
  /** Pages per workflow run before it continues as new (default 10), keeping each history small. */
  pagesPerRun?: number;
  /** Carried across continue-as-new. */
  progress?: ReconcileProgress;
}

export interface ReconcileProgress {
  runId: string;
  since: string;
  /** Where the walk of active PaymentIntents stands; null at the start. */
  cursor?: ActivityCursor | null;
  /** @deprecated the id cursor of runs before the keyset walk; a run continued from one walks from the start. */
  after?: string | null;
  checked: number;
}

import { RECONCILE_KEYSET_WALK_PATCH } from './patches.js';

/** Lowest task-queue priority: never ahead of a payment (activities of a scheduled run inherit it too). */
const RECONCILE_PRIORITY_KEY = PRIORITY.reconcile;

const db = proxyActivities<PaymentReconcileActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 20 },
  priority: { priorityKey: RECONCILE_PRIORITY_KEY },
});

export async function paymentReconcileWorkflow(input: PaymentReconcileInput): Promise<ReconcileRunSummary> {
  const info = workflowInfo();
  const pageSize = input.pageSize ?? 100;
  const concurrency = Math.max(1, input.concurrency ?? 4);
  const settleTimeoutSeconds = input.settleTimeoutSeconds ?? 300;
  const pagesPerRun = Math.max(1, input.pagesPerRun ?? 10);
  const stripe = proxyActivities<ReconcileStripeActivities>({
    taskQueue: stripeTaskQueueFor(info.taskQueue),
    // Lists can page (a customer with many balance transactions): a few requests, each with its own timeout.
    startToCloseTimeout: '2 minutes',
    retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 6 },
    priority: { priorityKey: RECONCILE_PRIORITY_KEY },
  });
  const settle = proxyActivities<PaymentReconcileActivities>({
    startToCloseTimeout: `${settleTimeoutSeconds + 60} seconds`,
    heartbeatTimeout: '30 seconds',
    retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 5 },
    priority: { priorityKey: RECONCILE_PRIORITY_KEY },
  });

  const keysetWalk = patched(RECONCILE_KEYSET_WALK_PATCH);
  const progress: ReconcileProgress = input.progress ?? {
    runId: `${info.workflowId}/${info.firstExecutionRunId}`,
    since: new Date(Date.now() - input.lookbackMinutes * 60_000).toISOString(),
    cursor: null,
    checked: 0,
  };
  if (!input.progress) await db.beginReconcileRun({ runId: progress.runId, since: progress.since });

  const check = async (paymentIntentId: string): Promise<PaymentCheck | { paymentIntentId: string; error: string }> => {
    try {
      return await stripe.reconcilePaymentBooks({ paymentIntentId });
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      const cause = err.cause instanceof ApplicationFailure ? err.cause : undefined;
      return { paymentIntentId, error: `${cause?.type ?? 'failure'}: ${err.cause?.message ?? err.message}` };
    }
  };

  for (let pages = 0; ; pages++) {
    if (pages >= pagesPerRun || workflowInfo().continueAsNewSuggested) {
      return await continueAsNew<typeof paymentReconcileWorkflow>({ ...input, progress });
    }
    let ids: string[];
    let walkEnded: boolean;
    if (keysetWalk) {
      const page = await db.listReconcilePage({ since: progress.since, cursor: progress.cursor ?? null, limit: pageSize });
      ids = page.paymentIntentIds;
      progress.cursor = page.next;
      walkEnded = page.next === null;
    } else {
      ids = await db.listReconcileCandidates({ since: progress.since, after: progress.after ?? null, limit: pageSize });
      walkEnded = ids.length < pageSize;
      if (ids.length > 0) progress.after = ids[ids.length - 1]!;
    }

    const checks = await mapLimited(ids, concurrency, check);
    const drifting = checks.filter((c): c is PaymentCheck => !('error' in c) && c.drift.length > 0);
    const findings: ReconcileFinding[] = checks
      .filter((c): c is { paymentIntentId: string; error: string } => 'error' in c)
      .map((c) => ({ paymentIntentId: c.paymentIntentId, status: null, drift: [], driftAfter: null, error: c.error }));

    if (drifting.length > 0) {
      const woken = drifting.map((c) => c.paymentIntentId);
      await db.wakeDriftingPayments({ paymentIntentIds: woken, atMs: Date.now() });
      await settle.awaitPaymentsSettled({ paymentIntentIds: woken, timeoutSeconds: settleTimeoutSeconds });
      const again = await mapLimited(drifting, concurrency, (c) => check(c.paymentIntentId));
      drifting.forEach((c, i) => {
        const after = again[i]!;
        findings.push({ paymentIntentId: c.paymentIntentId, status: c.status, drift: c.drift, driftAfter: 'error' in after ? null : after.drift, error: null });
      });
    }
    if (findings.length > 0) await db.recordReconcileFindings({ runId: progress.runId, findings });

    progress.checked += ids.length;
    if (walkEnded) break;
  }
  return await db.finishReconcileRun({ runId: progress.runId, checked: progress.checked });
}

/** `fn` over `items`, at most `limit` at a time, results in input order (deterministic: workflow promises). */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}
