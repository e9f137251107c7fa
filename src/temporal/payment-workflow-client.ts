import type { Client, WorkflowHandle, WorkflowStartOptions } from '@temporalio/client';
import type { PaymentOutcome } from '../domain/payment.js';
import type { PaymentEventNotice } from '../../workflows/payment-messages.js';
import type { PaymentWorkflowInput, PaymentWorkflowTuning } from '../../workflows/payment-workflow-input.js';
import type { PaymentTruth } from '../domain/payment-truth.js';
import type { paymentWorkflow } from '../../workflows/payment-workflow.js';
import { PRIORITY } from './priorities.js';
import { PaymentIntentIdKey, PaymentStageKey } from './search-attributes.js';

export const PAYMENT_WORKFLOW_TYPE = 'paymentWorkflow';

export interface PaymentWorkflowStarter {
  client: Client;
  taskQueue: string;
  tuning?: PaymentWorkflowTuning | undefined;
}

/**
 * Start options shared by every path that reaches a payment workflow (confirm, webhook, operator):
 * the workflow id IS the PaymentIntent id, so every caller lands on one execution.
 */
function startOptions(s: PaymentWorkflowStarter, paymentIntentId: string, summary: string, priorityKey: number, extra: Partial<PaymentWorkflowInput> = {}) {
  return {
    priority: { priorityKey },
    taskQueue: s.taskQueue,
    workflowId: paymentIntentId,
    args: [{ paymentIntentId, ...(s.tuning ? { tuning: s.tuning } : {}), ...extra }] as [PaymentWorkflowInput],
    // A finished run may be followed by a new one (e.g. not_payable, then the customer pays): the
    // ledger's unique key, not the workflow id, is what stops a second credit across runs.
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    typedSearchAttributes: [
      { key: PaymentIntentIdKey, value: paymentIntentId },
      { key: PaymentStageKey, value: 'loading' },
    ],
    staticSummary: summary,
  } satisfies Partial<WorkflowStartOptions>;
}

/**
 * Starts the payment workflow, or attaches to the running one (conflict policy USE_EXISTING). `handedTruth`:
 * the starter's own fresh read of Stripe, which a new run's first pass uses instead of reading again.
 */
export function startOrAttachPayment(
  s: PaymentWorkflowStarter,
  paymentIntentId: string,
  summary: string,
  handedTruth?: { truth: PaymentTruth; readAtMs: number },
): Promise<WorkflowHandle<typeof paymentWorkflow>> {
  return s.client.workflow.start<typeof paymentWorkflow>(PAYMENT_WORKFLOW_TYPE, {
    // A caller waits on this one: it goes ahead of webhook-started work in a backlog.
    ...startOptions(s, paymentIntentId, summary, PRIORITY.interactive, handedTruth ? { handedTruth } : {}),
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
}

/** Delivers a Stripe event to the payment workflow, starting it when none runs (signal-with-start). */
export async function signalPaymentWithStart(s: PaymentWorkflowStarter, paymentIntentId: string, notice: PaymentEventNotice): Promise<string> {
  const handle = await s.client.workflow.signalWithStart<typeof paymentWorkflow, [PaymentEventNotice]>(PAYMENT_WORKFLOW_TYPE, {
    ...startOptions(s, paymentIntentId, `Payment ${paymentIntentId} (from Stripe event ${notice.eventType})`, PRIORITY.payment),
    signal: 'paymentEvent',
    signalArgs: [notice],
  });
  return handle.signaledRunId;
}

export type PaymentHandle = WorkflowHandle<typeof paymentWorkflow>;
export type { PaymentOutcome };
