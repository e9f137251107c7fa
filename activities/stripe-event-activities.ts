import { WorkflowNotFoundError } from '@temporalio/common';
import { recordInboxOutcome } from '../src/db/webhook-inbox.js';
import type { Pool } from '../src/db/pool.js';
import type { EventOutcome, StripeEventSummary } from '../src/domain/stripe-events.js';
import { signalPaymentWithStart, type PaymentWorkflowStarter } from '../src/temporal/payment-workflow-client.js';
import { paymentEventSignal, type PaymentEventNotice } from '../workflows/payment-messages.js';

export interface StripeEventActivityDeps {
  pool: Pool;
  /** Reaches payment workflows (`pi_…`) from the worker. */
  payments: PaymentWorkflowStarter;
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
export function createStripeEventActivities({ pool, payments }: StripeEventActivityDeps) {
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

    /** Writes the outcome on the event's inbox row (UPSERT: `rawPayload` is set when there was no row yet). */
    async recordEventOutcome(input: { event: StripeEventSummary; result: EventOutcome; rawPayload?: string }): Promise<void> {
      await recordInboxOutcome(pool, input.event, input.result, input.rawPayload);
    },
  };
}

export type StripeEventActivities = ReturnType<typeof createStripeEventActivities>;
