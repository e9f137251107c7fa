import { ActivityFailure, proxyLocalActivities } from '@temporalio/workflow';
import type { StripeEventActivities } from '../activities/stripe-event-activities.js';
import { routeStripeEvent, type EventOutcome, type StripeEventSummary } from '../src/domain/stripe-events.js';
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
  const { forwardEventToPayment } = proxyLocalActivities<StripeEventActivities>({ startToCloseTimeout: tuning.activityTimeout, retry });
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
      if (!(err instanceof ActivityFailure)) throw err;
      result = { status: 'failed', outcome: `forward_failed: ${pi}`, lastError: (err.cause ?? err).message };
    }
  }
  await recordEventOutcome({ event, result, ...(input.rawPayload !== undefined ? { rawPayload: input.rawPayload } : {}) });
  return result;
}
