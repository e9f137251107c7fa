import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { isPaymentEventType, type StripeEventSummary } from '../domain/stripe-events.js';
import type { PaymentWorkflowTuning } from '../../workflows/payment-workflow-input.js';
import type { stripeEventWorkflow } from '../../workflows/stripe-event-workflow.js';
import { PRIORITY } from './priorities.js';
import { PaymentIntentIdKey, StripeEventTypeKey } from './search-attributes.js';

export const STRIPE_EVENT_WORKFLOW_TYPE = 'stripeEventWorkflow';

export interface StripeEventWorkflowStarter {
  client: Client;
  taskQueue: string;
  /** Activity timeouts and retries for the event workflow (same knobs as the payment workflow's). */
  tuning?: PaymentWorkflowTuning | undefined;
}

export interface StartEventOptions {
  /** Given only when the delivery bypassed the inbox (Postgres down): the workflow writes the row. */
  rawPayload?: string;
  /** An operator's replay (`payconfirm events replay`): a finished run of `evt_…` may be followed by a new one. */
  replay?: boolean;
}

/**
 * Starts the event workflow `evt_…` once per Stripe event: a running execution is reused (conflict policy
 * USE_EXISTING) and a finished one is never run again (reuse policy REJECT_DUPLICATE). Either way the event is
 * in Temporal's hands, so `already_started` counts as dispatched. Only an operator's replay starts a new run
 * after a finished one (ALLOW_DUPLICATE): what it forwards is deduplicated downstream by the ledger's keys.
 */
export async function startStripeEventWorkflow(
  s: StripeEventWorkflowStarter,
  event: StripeEventSummary,
  { rawPayload, replay = false }: StartEventOptions = {},
): Promise<'started' | 'already_started'> {
  try {
    await s.client.workflow.start<typeof stripeEventWorkflow>(STRIPE_EVENT_WORKFLOW_TYPE, {
      taskQueue: s.taskQueue,
      workflowId: event.id,
      args: [{ event, ...(rawPayload !== undefined ? { rawPayload } : {}), ...(s.tuning ? { tuning: s.tuning } : {}) }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: replay ? 'ALLOW_DUPLICATE' : 'REJECT_DUPLICATE',
      priority: { priorityKey: isPaymentEventType(event.type) ? PRIORITY.intake : PRIORITY.otherIntake },
      typedSearchAttributes: [
        { key: StripeEventTypeKey, value: event.type },
        ...(event.paymentIntentId ? [{ key: PaymentIntentIdKey, value: event.paymentIntentId }] : []),
      ],
      staticSummary: `${replay ? 'Replay of ' : ''}Stripe ${event.type} ${event.id}${event.paymentIntentId ? ` for ${event.paymentIntentId}` : ''}`,
    });
    return 'started';
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return 'already_started';
    throw err;
  }
}
