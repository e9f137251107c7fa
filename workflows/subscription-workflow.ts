import { allHandlersFinished, condition, continueAsNew, defineQuery, defineSignal, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { SubscriptionActivities, SyncSubscriptionResult } from '../activities/subscription-activities.js';
import { SUBSCRIPTION_EVENT_SIGNAL, type SubscriptionEventNotice } from '../src/subscriptions/subscription-state.js';
import { stripeTaskQueueFor } from '../src/temporal/task-queues.js';
import { DEFAULT_TUNING, type PaymentWorkflowTuning } from './payment-workflow-input.js';

export interface SubscriptionWorkflowInput {
  subscriptionId: string;
  /** The activity timeout and retry intervals (the payment workflow's knobs); the attempt limit is not used. */
  tuning?: PaymentWorkflowTuning;
  /** Set by the run this one continues (continue-as-new): the newest event it had not read for yet. */
  carriedOver?: { lastEventId: string | null };
}

export type SubscriptionOutcome =
  | {
      status: 'synced';
      subscriptionId: string;
      /** Stripe's status as the row holds it now. */
      subscriptionStatus: string;
      version: number;
      /** Reads of Stripe this run made (one per wake that found the previous pass done, at least one). */
      passes: number;
      /** Changes this run recorded (each with its one notification). */
      changes: number;
    }
  /** Stripe answers 404 for this id (another account or mode, or a wrong id): nothing was written. */
  | { status: 'not_found'; subscriptionId: string; passes: number };


/** A Stripe event about this subscription (the workflow reads Stripe again; the event is only a nudge). */
export const subscriptionEventSignal = defineSignal<[SubscriptionEventNotice]>(SUBSCRIPTION_EVENT_SIGNAL);

/** Where the run stands: its passes, the last result, the events it has had. */
export const subscriptionStateQuery = defineQuery<{ subscriptionId: string; wakes: number; passes: number; last: SyncSubscriptionResult | null }>('state');

/**
 * One workflow per Stripe subscription (workflow id = `sub_…`), woken by signal-with-start from the event workflow
 * for every `customer.subscription.*` event. Events wake; Stripe decides: each pass is one activity,
 * `syncSubscription` (activities/subscription-activities.ts, on the Stripe task queue), which reads the subscription
 * fresh and writes it — with one notification when its state changed — under a read ticket that stops an older read
 * from overwriting a newer one. Events arriving during a pass cost exactly one more pass, however many they are;
 * the run ends once a pass finishes with no event behind it (a later event starts a new run). Duplicates and stale
 * events change nothing: the read finds the state the row already holds.
 *
 * The activity retries without an attempt limit (Stripe or Postgres away for hours only delays the row); a failure
 * it cannot retry (Stripe refusing the key, an answer payconfirm cannot keep) fails the run, visibly in the Temporal
 * UI, and the next event starts a new one.
 */
export async function subscriptionWorkflow(input: SubscriptionWorkflowInput): Promise<SubscriptionOutcome> {
  const tuning = { ...DEFAULT_TUNING, ...input.tuning };
  const retry = { ...DEFAULT_TUNING.activityRetry, ...tuning.activityRetry };
  const { syncSubscription } = proxyActivities<SubscriptionActivities>({
    taskQueue: stripeTaskQueueFor(workflowInfo().taskQueue),
    startToCloseTimeout: tuning.activityTimeout,
    retry: { initialInterval: retry.initialInterval, maximumInterval: retry.maximumInterval, backoffCoefficient: 2 },
  });
  const id = input.subscriptionId;
  let wakes = 0;
  let lastEventId: string | null = input.carriedOver?.lastEventId ?? null;
  let passes = 0;
  let changes = 0;
  let last: SyncSubscriptionResult | null = null;
  setHandler(subscriptionEventSignal, (notice) => {
    wakes++;
    lastEventId = notice.eventId;
  });
  setHandler(subscriptionStateQuery, () => ({ subscriptionId: id, wakes, passes, last }));

  for (;;) {
    const seen = wakes;
    last = await syncSubscription({ subscriptionId: id, lastEventId });
    passes++;
    if (last.kind === 'synced' && last.notificationId !== null) changes++;
    if (wakes === seen) break; // converged: nothing arrived during the pass
    if (workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof subscriptionWorkflow>({
        subscriptionId: id,
        ...(input.tuning ? { tuning: input.tuning } : {}),
        carriedOver: { lastEventId },
      });
    }
  }
  await condition(allHandlersFinished);
  return last.kind === 'not_found'
    ? { status: 'not_found', subscriptionId: id, passes }
    : { status: 'synced', subscriptionId: id, subscriptionStatus: last.status, version: last.version, passes, changes };
}
