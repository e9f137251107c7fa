import type { Client } from '@temporalio/client';
import { PRIORITY } from '../temporal/priorities.js';
import type { PaymentWorkflowTuning } from '../../workflows/payment-workflow-input.js';
import type { SubscriptionWorkflowInput, subscriptionWorkflow } from '../../workflows/subscription-workflow.js';
import { SUBSCRIPTION_EVENT_SIGNAL, type SubscriptionEventNotice } from './subscription-state.js';

export const SUBSCRIPTION_WORKFLOW_TYPE = 'subscriptionWorkflow';

export interface SubscriptionWorkflowStarter {
  client: Client;
  taskQueue: string;
  /** The activity timeout and retry intervals (the payment workflow's knobs; the attempt limit is not used). */
  tuning?: PaymentWorkflowTuning | undefined;
}

/**
 * Delivers a Stripe event to the subscription's workflow (workflow id = the subscription id, `sub_…`), starting it
 * when none runs (signal-with-start): every event about one subscription lands on one execution, which reads
 * Stripe once more for all the events that came meanwhile. A finished run is followed by a new one (ALLOW_DUPLICATE);
 * the read ticket in Postgres, not the workflow id, is what orders writes across runs. Returns the run that got it.
 */
export async function signalSubscriptionWithStart(s: SubscriptionWorkflowStarter, subscriptionId: string, notice: SubscriptionEventNotice): Promise<string> {
  const handle = await s.client.workflow.signalWithStart<typeof subscriptionWorkflow, [SubscriptionEventNotice]>(SUBSCRIPTION_WORKFLOW_TYPE, {
    taskQueue: s.taskQueue,
    workflowId: subscriptionId,
    args: [{ subscriptionId, ...(s.tuning ? { tuning: s.tuning } : {}) }] as [SubscriptionWorkflowInput],
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    priority: { priorityKey: PRIORITY.payment },
    staticSummary: `Subscription ${subscriptionId} (from Stripe event ${notice.eventType})`,
    signal: SUBSCRIPTION_EVENT_SIGNAL,
    signalArgs: [notice],
  });
  return handle.signaledRunId;
}
