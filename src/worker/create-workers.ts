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
import { stripeActivitiesPerSecond } from '../stripe/stripe-rate-limit.js';
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
   * Stripe requests per second, all workers together (STRIPE_RATE_LIMIT_PER_SECOND): turned into the Stripe
   * queue's activity rate limit, which the Temporal server holds across every worker (src/stripe/stripe-rate-limit.ts).
   */
  stripeRateLimitPerSecond: number;
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
 * subscription's activity.
 */
export async function createWorkers(deps: WorkerDeps): Promise<Worker[]> {
  const stripeActivityRate = stripeActivitiesPerSecond(deps.stripeRateLimitPerSecond);
  if (deps.metrics) {
    observeStripeCalls(deps.stripe, deps.metrics);
    deps.metrics.stripeQueueActivitiesPerSecond.set(stripeActivityRate);
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
      // The backfill's pages: one Stripe request each, under the same queue-wide rate limit.
      ...createStripeEventPageActivities({ stripe: deps.stripe, pool: deps.pool, ...(deps.metrics ? { metrics: deps.metrics } : {}) }),
      // The scheduled reconcile's comparisons: one PaymentIntent each (2–4 requests), under the same limit.
      ...createReconcileStripeActivities({ stripe: deps.stripe, pool: deps.pool, policy: deps.moneyPolicy ?? DEFAULT_MONEY_POLICY }),
      // A subscription's one activity: a fresh read (one request) and its guarded write, under the same limit.
      ...createSubscriptionActivities({ stripe: deps.stripe, pool: deps.pool }),
    },
    maxTaskQueueActivitiesPerSecond: stripeActivityRate,
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
