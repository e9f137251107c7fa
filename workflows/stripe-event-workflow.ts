import { patched, proxyLocalActivities } from '@temporalio/workflow';
import type { StripeEventActivities } from '../activities/stripe-event-activities.js';
import { routeStripeEvent, type EventOutcome, type StripeEventSummary } from '../src/domain/stripe-events.js';
import { activityFailureOf } from './activity-failure.js';
import { isTeamRoutable } from '../src/routes/route-matching.js';
import { withFailedRoutes, withRoutedForwards } from '../src/routes/route-outcome.js';
import { SUBSCRIPTION_ROUTE_PATCH, TEAM_ROUTES_PATCH } from './patches.js';
import { DEFAULT_TUNING, type PaymentWorkflowTuning } from './payment-workflow-input.js';

export interface StripeEventWorkflowInput {
  event: StripeEventSummary;
  /** Set only when the delivery bypassed the inbox (Postgres was down): the workflow writes the row with it. */
  rawPayload?: string;
  tuning?: PaymentWorkflowTuning;
}

/**
 * One workflow per Stripe event (workflow id = `evt_…`, duplicates rejected): routes the event by type, hands it to
 * the payment workflow `pi_…` when it concerns money, and writes the outcome on the event's inbox row.
 * It never waits for the payment itself: the payment workflow owns that, and may wait days for an operator.
 */
export async function stripeEventWorkflow(input: StripeEventWorkflowInput): Promise<EventOutcome> {
  const tuning = { ...DEFAULT_TUNING, ...input.tuning };
  const retry = { ...DEFAULT_TUNING.activityRetry, ...tuning.activityRetry, backoffCoefficient: 2 };
  // Local activities: an event costs one workflow task (about 7 history events), not three round trips. Each is
  // short (one Temporal call, one SQL statement) and idempotent, which is what local activities are for.
  const { forwardEventToPayment, forwardEventToRoutes } = proxyLocalActivities<StripeEventActivities>({ startToCloseTimeout: tuning.activityTimeout, retry });
  const { forwardEventToSubscription } = proxyLocalActivities<StripeEventActivities>({ startToCloseTimeout: tuning.activityTimeout, retry });
  // The outcome must land even after a long Postgres outage: no attempt limit, the same backoff.
  const { recordEventOutcome } = proxyLocalActivities<StripeEventActivities>({
    startToCloseTimeout: tuning.activityTimeout,
    retry: { ...retry, maximumAttempts: Number.POSITIVE_INFINITY },
  });

  const { event } = input;
  const route = routeStripeEvent(event);
  let result: EventOutcome;
  if (route.action === 'ignore') {
    result = { status: 'ignored', outcome: `ignored: ${route.why}` };
  } else if (route.action === 'subscription') {
    // customer.subscription.* → the subscription's workflow `sub_…` (it reads Stripe; the event is a nudge). Event
    // workflows in flight at the deploy that added this replay as before: such events were not handled then.
    const sub = route.subscriptionId;
    if (!patched(SUBSCRIPTION_ROUTE_PATCH)) {
      result = { status: 'ignored', outcome: `ignored: event type ${event.type} is not handled` };
    } else {
      try {
        const forwarded = await forwardEventToSubscription({ subscriptionId: sub, notice: { eventId: event.id, eventType: event.type } });
        result = { status: 'processed', outcome: `forwarded_to_subscription: ${sub} run ${forwarded.runId}` };
      } catch (err) {
        const gaveUp = activityFailureOf(err);
        if (!gaveUp) throw err;
        result = { status: 'failed', outcome: `forward_failed: ${sub}`, lastError: gaveUp.failure.message };
      }
    }
  } else {
    const pi = route.paymentIntentId;
    try {
      const forwarded = await forwardEventToPayment({
        paymentIntentId: pi,
        notice: { eventId: event.id, eventType: event.type },
        startIfMissing: route.action === 'payment',
      });
      result = !forwarded.delivered
        ? { status: 'ignored', outcome: `no_payment_workflow: no payment workflow runs for ${pi}` }
        : route.action === 'payment'
          ? { status: 'processed', outcome: `forwarded_to_payment: ${pi}${forwarded.runId ? ` run ${forwarded.runId}` : ''}` }
          : { status: 'processed', outcome: `informed_payment: ${pi}` };
    } catch (err) {
      const gaveUp = activityFailureOf(err);
      if (!gaveUp) throw err;
      result = { status: 'failed', outcome: `forward_failed: ${pi}`, lastError: gaveUp.failure.message };
    }
  }
  // Team routes (PAYCONFIRM_ROUTES_FILE, src/routes/): any event that is not a payment's also goes to the team
  // workflows whose routes take its type, matched by the worker's activity (recorded here, so a replay of this history
  // reuses it). No route leaves the result as the built-in routing made it; payment events never come here.
  if (isTeamRoutable(event.type) && patched(TEAM_ROUTES_PATCH)) {
    try {
      result = withRoutedForwards(result, await forwardEventToRoutes({ event }));
    } catch (err) {
      const gaveUp = activityFailureOf(err);
      if (!gaveUp) throw err;
      const failedRoutes = gaveUp.application?.details?.[0];
      result = withFailedRoutes(result, Array.isArray(failedRoutes) ? failedRoutes.map(String) : [], gaveUp.failure.message);
    }
  }
  await recordEventOutcome({ event, result, ...(input.rawPayload !== undefined ? { rawPayload: input.rawPayload } : {}) });
  return result;
}
