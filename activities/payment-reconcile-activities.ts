import { ApplicationFailure, Context } from '@temporalio/activity';
import { FAILURE_TYPES } from '../src/domain/failure-types.js';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { Pool } from '../src/db/pool.js';
import type { Drift } from '../src/domain/books-drift.js';
import type { MoneyPolicy } from '../src/domain/credit-policy.js';
import { scrubSecrets } from '../src/logger.js';
import type { Metrics } from '../src/metrics.js';
import { activePaymentIntentsPage, type ActivePage, type ActivityCursor } from '../src/reconcile/active-payment-intents.js';
import { reconcilePayment, wakePaymentToConverge } from '../src/reconcile/reconcile-payments.js';
import { beginReconcileRun, finishReconcileRun, recordReconcileFindings, type ReconcileFinding, type ReconcileRunSummary } from '../src/reconcile/reconcile-runs.js';
import type { StripeClient } from '../src/stripe/stripe-client.js';
import { toActivityFailure } from './stripe-activity-failure.js';
import type { PaymentWorkflowStarter } from '../src/temporal/payment-workflow-client.js';
import { PaymentStageKey } from '../src/temporal/search-attributes.js';

/**
 * The scheduled reconcile's side effects (workflows/payment-reconcile-workflow.ts), built from injected
 * dependencies. The comparison itself is `payconfirm reconcile`'s (src/reconcile/reconcile-payments.ts), and so is the
 * wake: nothing here decides about money.
 *
 * Two groups, for two task queues:
 *  - `createReconcileStripeActivities`: the one activity that reads Stripe, `reconcilePaymentBooks`, one PaymentIntent
 *    per activity on the `{queue}-stripe` queue (2 requests for a plain credit — the PaymentIntent with its charge, the
 *    customer's balance transactions — one more per list a refund or dispute needs, each taken from the Stripe request
 *    budget every process shares, src/stripe/stripe-request-budget.ts);
 *  - `createPaymentReconcileActivities`: Postgres and Temporal only, on the main queue.
 */

type LogAttrs = Record<string, unknown>;
type Log = (message: string, attrs: LogAttrs) => void;

export interface ReconcileStripeActivityDeps {
  pool: Pool;
  stripe: StripeClient;
  /** CREDIT_PAYMENT_INTENTS and STRIPE_BALANCE_MIRROR: the same as the payment activities'. */
  policy: MoneyPolicy;
}

/** What a comparison of one PaymentIntent found: the drift, without the nets (they stay in the books). */
export interface PaymentCheck {
  paymentIntentId: string;
  status: string;
  drift: Drift[];
}

export function createReconcileStripeActivities({ pool, stripe, policy }: ReconcileStripeActivityDeps) {
  return {
    /** Compares one PaymentIntent's three books (Stripe read fresh). Stripe errors become retry / give-up decisions. */
    async reconcilePaymentBooks(input: { paymentIntentId: string }): Promise<PaymentCheck> {
      try {
        const c = await reconcilePayment({ pool, stripe, policy }, input.paymentIntentId);
        return { paymentIntentId: c.paymentIntentId, status: c.status, drift: c.drift };
      } catch (err) {
        throw toActivityFailure(err, `reconcile ${input.paymentIntentId}`);
      }
    },
  };
}

export interface PaymentReconcileActivityDeps {
  pool: Pool;
  /** Wakes payment workflows (`pi_…`) the way `payconfirm reconcile --fix` does. */
  payments: PaymentWorkflowStarter;
  metrics?: Metrics;
  /** Structured log lines (default: the activity's logger, which carries the workflow and activity ids). */
  info?: Log;
  warn?: Log;
}

/** Stages in which a payment workflow that still runs has nothing more to do by itself. */
const WAITING_STAGES = new Set(['needs_attention', 'awaiting_payment']);

export function createPaymentReconcileActivities({
  pool,
  payments,
  metrics,
  info = (message, attrs) => Context.current().log.info(message, attrs),
  warn = (message, attrs) => Context.current().log.warn(message, attrs),
}: PaymentReconcileActivityDeps) {
  return {
    /** Records the run as started (idempotent: a retry or a continued run finds it there). */
    async beginReconcileRun(input: { runId: string; since: string }): Promise<void> {
      await beginReconcileRun(pool, input.runId, new Date(input.since));
    },

    /** The next page of PaymentIntents with activity since `since`, in id order after `after`. */
    /** The next page of the walk of PaymentIntents active since `since` (src/reconcile/active-payment-intents.ts). */
    async listReconcilePage(input: { since: string; cursor: ActivityCursor | null; limit: number }): Promise<ActivePage> {
      return activePaymentIntentsPage(pool, new Date(input.since), input.cursor, input.limit);
    },

    /**
     * @deprecated the id-ordered page of runs started before the keyset walk (RECONCILE_KEYSET_WALK_PATCH): answers
     * no ids, so such a run closes; the next run's overlapping lookback checks its window.
     */
    async listReconcileCandidates(_input: { since: string; after: string | null; limit: number }): Promise<string[]> {
      return [];
    },

    /**
     * Wakes each drifting payment's workflow with the reconcile notice (signal-with-start: started if none runs),
     * as `payconfirm reconcile --fix` does: it converges its books from Stripe, re-checks the mirror on Stripe, or
     * waits in needs_attention for an operator. `atMs` names the notice, so a retry sends the same one.
     */
    async wakeDriftingPayments(input: { paymentIntentIds: string[]; atMs: number }): Promise<void> {
      const at = new Date(input.atMs);
      for (const pi of input.paymentIntentIds) await wakePaymentToConverge(payments, pi, at);
    },

    /**
     * Waits until each payment workflow has settled — finished, or waiting (needs_attention, awaiting_payment) —
     * or `timeoutSeconds` pass. Returns the ones still busy. Heartbeats while it polls.
     */
    async awaitPaymentsSettled(input: { paymentIntentIds: string[]; timeoutSeconds: number }): Promise<string[]> {
      const ctx = Context.current();
      const until = Date.now() + input.timeoutSeconds * 1_000;
      let busy = [...input.paymentIntentIds];
      for (;;) {
        const still: string[] = [];
        for (const pi of busy) if (!(await settled(payments, pi))) still.push(pi);
        busy = still;
        ctx.heartbeat({ busy: busy.length });
        if (busy.length === 0 || Date.now() >= until) return busy;
        await ctx.sleep(1_000);
      }
    },

    /** Stores what this page found (drifting or unchecked payments) and logs each drifting one. */
    async recordReconcileFindings(input: { runId: string; findings: ReconcileFinding[] }): Promise<void> {
      const findings = input.findings.map((f) => (f.error === null ? f : { ...f, error: scrubSecrets(f.error) }));
      await recordReconcileFindings(pool, input.runId, findings);
      for (const f of findings) {
        if (f.error !== null) {
          warn('reconcile could not check a payment', { runId: input.runId, paymentIntentId: f.paymentIntentId, error: f.error });
          continue;
        }
        warn('reconcile found drift', {
          runId: input.runId,
          paymentIntentId: f.paymentIntentId,
          status: f.status,
          drift: f.drift,
          driftAfterWake: f.driftAfter,
          resolution: f.driftAfter !== null && f.driftAfter.length === 0 ? 'converged' : 'unresolved',
        });
      }
    },

    /**
     * Closes the run with its totals (counted from its findings), logs its summary and counts it in this process's
     * metrics — once: a retried activity finds the run closed and counts nothing again.
     */
    async finishReconcileRun(input: { runId: string; checked: number }): Promise<ReconcileRunSummary> {
      const { run, closedNow } = await finishReconcileRun(pool, input.runId, input.checked);
      if (!run) throw ApplicationFailure.nonRetryable(`reconcile run ${input.runId} was never begun`, FAILURE_TYPES.reconcileRunMissing);
      if (closedNow) {
        metrics?.reconcileRuns.inc();
        metrics?.reconcilePaymentsChecked.inc(run.checked);
        if (run.drifting - run.unresolved > 0) metrics?.reconcileDriftFound.inc({ resolution: 'converged' }, run.drifting - run.unresolved);
        if (run.unresolved > 0) metrics?.reconcileDriftFound.inc({ resolution: 'unresolved' }, run.unresolved);
        (run.drifting > 0 || run.failed > 0 ? warn : info)('reconcile run finished', { ...run });
      }
      return run;
    },
  };
}

async function settled(payments: PaymentWorkflowStarter, paymentIntentId: string): Promise<boolean> {
  try {
    const d = await payments.client.workflow.getHandle(paymentIntentId).describe();
    if (d.status.name !== 'RUNNING') return true;
    return WAITING_STAGES.has(String(d.typedSearchAttributes.get(PaymentStageKey) ?? ''));
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return true;
    throw err;
  }
}

export type ReconcileStripeActivities = ReturnType<typeof createReconcileStripeActivities>;
export type PaymentReconcileActivities = ReturnType<typeof createPaymentReconcileActivities>;
