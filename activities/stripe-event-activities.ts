import { WorkflowNotFoundError } from '@temporalio/common';
import { recordInboxOutcome } from '../src/db/webhook-inbox.js';
import type { Pool } from '../src/db/pool.js';
import type { EventOutcome, StripeEventSummary } from '../src/domain/stripe-events.js';
import { signalPaymentWithStart, type PaymentWorkflowStarter } from '../src/temporal/payment-workflow-client.js';
import { createRouteForwarder, type RouteForward } from '../src/routes/route-forwarder.js';
import type { TeamRoute } from '../src/routes/routes-file.js';
import { paymentEventSignal, type PaymentEventNotice } from '../workflows/payment-messages.js';
import type { SubscriptionEventNotice } from '../src/subscriptions/subscription-state.js';
import { signalSubscriptionWithStart } from '../src/subscriptions/subscription-workflow-client.js';

export interface StripeEventActivityDeps {
  pool: Pool;
  /** Reaches payment workflows (`pi_…`) from the worker. */
  payments: PaymentWorkflowStarter;
  /** The team routes of PAYCONFIRM_ROUTES_FILE (src/routes/); none: every event stays with the built-in routing. */
  routes?: readonly TeamRoute[];
}

export interface ForwardEventInput {
  paymentIntentId: string;
  notice: PaymentEventNotice;
  /** true: signal-with-start; false: signal only a payment workflow that runs now. */
  startIfMissing: boolean;
}

/** `runId`: the payment run that got the event (known for signal-with-start only). */
export type ForwardResult = { delivered: true; runId: string | null } | { delivered: false };

/** What the event workflow does outside itself: reach a payment workflow, write the inbox row. */
export function createStripeEventActivities({ pool, payments, routes = [] }: StripeEventActivityDeps) {
  const teamRoutes = createRouteForwarder({ client: payments.client, routes });
  return {
    /**
     * Delivers the event to the payment workflow `pi_…`. Signal-with-start attaches to a running payment or
     * starts one (a webhook and confirm requests land on the same execution); a finished payment gets a new
     * run that converges through the ledger key and Stripe lookups. Retrying it only re-sends a nudge.
     */
    async forwardEventToPayment(input: ForwardEventInput): Promise<ForwardResult> {
      if (input.startIfMissing) {
        return { delivered: true, runId: await signalPaymentWithStart(payments, input.paymentIntentId, input.notice) };
      }
      const handle = payments.client.workflow.getHandle(input.paymentIntentId);
      try {
        await handle.signal(paymentEventSignal, input.notice);
        return { delivered: true, runId: null };
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return { delivered: false };
        throw err;
      }
    },

    /**
     * Hands an event that is not a payment's to every team route that takes its type: starts `<route>/<evt_…>` or
     * signal-with-starts `<route>/<object id>` (src/routes/route-forwarder.ts). Matched here, in the worker, against
     * the routes file it started with; the result is recorded in the event workflow's history. Empty: no route.
     */
    async forwardEventToRoutes(input: { event: StripeEventSummary }): Promise<RouteForward[]> {
      return teamRoutes.forward(input.event);
    },

    /**
     * Delivers a `customer.subscription.*` event to the subscription's workflow `sub_…` (signal-with-start: started
     * when none runs). Retrying it only re-sends a nudge; the workflow reads Stripe once for all it got meanwhile.
     */
    async forwardEventToSubscription(input: { subscriptionId: string; notice: SubscriptionEventNotice }): Promise<{ runId: string }> {
      return { runId: await signalSubscriptionWithStart(payments, input.subscriptionId, input.notice) };
    },

    /** Writes the outcome on the event's inbox row (UPSERT: `rawPayload` is set when there was no row yet). */
    async recordEventOutcome(input: { event: StripeEventSummary; result: EventOutcome; rawPayload?: string }): Promise<void> {
      await recordInboxOutcome(pool, input.event, input.result, input.rawPayload);
    },
  };
}

export type StripeEventActivities = ReturnType<typeof createStripeEventActivities>;
