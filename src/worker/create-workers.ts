import type { Client } from '@temporalio/client';
import { Worker, type NativeConnection, type WorkflowBundleOption } from '@temporalio/worker';
import { createMaintenanceActivities } from '../../activities/maintenance-activities.js';
import { createOperatorDecisionActivities } from '../../activities/operator-decision-activities.js';
import { createPaymentActivities } from '../../activities/payment-activities.js';
import { createPaymentReconcileActivities, createReconcileStripeActivities } from '../../activities/payment-reconcile-activities.js';
import { createStripeEventActivities } from '../../activities/stripe-event-activities.js';
import { createStripeEventBackfillCursorActivities, createStripeEventPageActivities } from '../../activities/stripe-event-backfill-activities.js';
import { createSubscriptionActivities } from '../../activities/subscription-activities.js';
import type { Pool } from '../db/pool.js';
import { DEFAULT_MONEY_POLICY, type MoneyPolicy } from '../domain/credit-policy.js';
import type { Metrics } from '../metrics.js';
import { observeStripeCalls, type StripeClient } from '../stripe/stripe-client.js';
import type { StripeBudgetLimits } from '../stripe/stripe-request-budget.js';
import { stripeTaskQueueFor } from '../temporal/task-queues.js';
import type { PaymentWorkflowTuning } from '../../workflows/payment-workflow-input.js';
import { workflowsPath } from './workflow-source.js';
import type { TeamRoute } from '../routes/routes-file.js';

export interface WorkerDeps {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  pool: Pool;
  stripe: StripeClient;
  /** Starts/signals payment workflows from event activities. */
  client: Client;
  metrics?: Metrics;
  /**
   * The limits of the Stripe request budget `stripe` spends from (src/stripe/stripe-request-budget.ts), shown in
   * `payconfirm_stripe_budget_requests_per_second`; the budget itself rides on the client, so no task queue is throttled.
   */
  stripeBudget?: StripeBudgetLimits;
  /** A prebuilt bundle (tests bundle once per run); default: bundle `workflows/` at start. */
  workflowBundle?: WorkflowBundleOption;
  paymentWorkflowTuning?: PaymentWorkflowTuning;
  /** CREDIT_PAYMENT_INTENTS and STRIPE_BALANCE_MIRROR; default: tagged, mirror on. */
  moneyPolicy?: MoneyPolicy;
  shutdownGraceTimeMs?: number;
  /** Team routes (PAYCONFIRM_ROUTES_FILE, src/routes/): forwarded by the event workflow, listed by the backfill. */
  routes?: readonly TeamRoute[];
}

/**
 * Two workers in one process: the main queue runs workflows, the event workflow's activities, the operator
 * decisions and the payment's pass (local activities); the `-stripe` queue runs the payment's pass for runs that
 * recorded it as a regular activity, the event backfill's page listing, the reconcile's comparisons and the
 * subscription's activity. Stripe's limits are held by the request budget the Stripe client spends from before each
 * request (src/stripe/stripe-request-budget.ts), shared by every process.
 */
export async function createWorkers(deps: WorkerDeps): Promise<Worker[]> {
  if (deps.metrics) {
    observeStripeCalls(deps.stripe, deps.metrics);
    if (deps.stripeBudget) {
      deps.metrics.stripeBudgetRequestsPerSecond.set({ scope: 'account' }, deps.stripeBudget.accountPerSecond);
      deps.metrics.stripeBudgetRequestsPerSecond.set({ scope: 'operation' }, deps.stripeBudget.operationPerSecond);
    }
  }
  const common = {
    connection: deps.connection,
    namespace: deps.namespace,
    shutdownGraceTime: deps.shutdownGraceTimeMs ?? 20_000,
  };
  const paymentActivities = createPaymentActivities({
    stripe: deps.stripe,
    pool: deps.pool,
    policy: deps.moneyPolicy ?? DEFAULT_MONEY_POLICY,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
  });
  const main = await Worker.create({
    ...common,
    taskQueue: deps.taskQueue,
    ...(deps.workflowBundle ? { workflowBundle: deps.workflowBundle } : { workflowsPath: workflowsPath() }),
    activities: {
      // The payment's pass, as a local activity of its workflow (workflows/payment-workflow.ts).
      ...paymentActivities,
      ...createOperatorDecisionActivities({ pool: deps.pool }),
      ...createMaintenanceActivities({ pool: deps.pool }),
      ...createStripeEventBackfillCursorActivities({ pool: deps.pool, routes: deps.routes ?? [] }),
      // The scheduled reconcile's Postgres and Temporal steps (its Stripe reads run on the Stripe queue below).
      ...createPaymentReconcileActivities({
        pool: deps.pool,
        payments: { client: deps.client, taskQueue: deps.taskQueue, tuning: deps.paymentWorkflowTuning },
        ...(deps.metrics ? { metrics: deps.metrics } : {}),
      }),
      ...createStripeEventActivities({
        pool: deps.pool,
        payments: { client: deps.client, taskQueue: deps.taskQueue, tuning: deps.paymentWorkflowTuning },
        routes: deps.routes ?? [],
      }),
    },
  });
  const stripe = await Worker.create({
    ...common,
    taskQueue: stripeTaskQueueFor(deps.taskQueue),
    activities: {
      // The pass as a regular activity: for runs that recorded it before convergeInLocalActivity.
      ...paymentActivities,
      // The backfill's pages: one Stripe request each.
      ...createStripeEventPageActivities({ stripe: deps.stripe, pool: deps.pool, ...(deps.metrics ? { metrics: deps.metrics } : {}) }),
      // The scheduled reconcile's comparisons: one PaymentIntent each (2–4 requests).
      ...createReconcileStripeActivities({ stripe: deps.stripe, pool: deps.pool, policy: deps.moneyPolicy ?? DEFAULT_MONEY_POLICY }),
      // A subscription's one activity: a fresh read (one request) and its guarded write.
      ...createSubscriptionActivities({ stripe: deps.stripe, pool: deps.pool }),
    },
  });
  return [main, stripe];
}

/** Runs the workers until `signal` aborts, then drains them (in-flight activities get the grace time). */
export async function runWorkers(workers: Worker[], signal: AbortSignal): Promise<void> {
  const onAbort = () => workers.forEach((w) => w.getState() === 'RUNNING' && w.shutdown());
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    // One worker failing stops the others too, so the process never runs half a service.
    await Promise.all(workers.map((w) => w.run().catch((err: unknown) => (onAbort(), Promise.reject(err)))));
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
