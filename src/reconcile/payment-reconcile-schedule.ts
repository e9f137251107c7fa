import { ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { ensureSchedule, removeSchedule } from '../temporal/ensure-schedule.js';
import type { paymentReconcileWorkflow } from '../../workflows/payment-reconcile-workflow.js';
import { PRIORITY } from '../temporal/priorities.js';

export const PAYMENT_RECONCILE_WORKFLOW_TYPE = 'paymentReconcileWorkflow';

/** One schedule per task queue (several payconfirm deployments may share a namespace). */
export const paymentReconcileScheduleId = (taskQueue: string): string => `payconfirm-payment-reconcile-${taskQueue}`;

export interface PaymentReconcileScheduleSettings {
  /** RECONCILE_INTERVAL in minutes; null (`off`): no schedule. */
  intervalMinutes: number | null;
  /** RECONCILE_LOOKBACK in minutes: PaymentIntents with activity in this window are checked. */
  lookbackMinutes: number;
}

function definition(taskQueue: string, intervalMinutes: number, lookbackMinutes: number) {
  return {
    // Intervals are aligned to the Unix epoch: 24h fires at 00:00 UTC.
    spec: { intervals: [{ every: `${intervalMinutes} minutes` }] },
    action: {
      type: 'startWorkflow' as const,
      workflowType: PAYMENT_RECONCILE_WORKFLOW_TYPE,
      workflowId: `payment-reconcile-${taskQueue}`,
      taskQueue,
      args: [{ lookbackMinutes }] as Parameters<typeof paymentReconcileWorkflow>,
      workflowExecutionTimeout: '1 day',
      priority: { priorityKey: PRIORITY.reconcile },
      staticSummary: `Reconcile PaymentIntents active in the last ${lookbackMinutes} minutes`,
    },
    // A run still going when the next is due: the next is skipped (the lookback overlaps, so nothing is missed).
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
  };
}

/**
 * Makes sure the reconcile Schedule matches the configuration: created or updated (an existing one keeps its state:
 * paused stays paused), or deleted when RECONCILE_INTERVAL is `off`. Idempotent; every worker may call it at start.
 * Returns the schedule id, or null when off.
 */
export async function ensurePaymentReconcileSchedule(client: Client, taskQueue: string, settings: PaymentReconcileScheduleSettings): Promise<string | null> {
  const scheduleId = paymentReconcileScheduleId(taskQueue);
  if (settings.intervalMinutes === null) {
    await removeSchedule(client, scheduleId);
    return null;
  }
  return ensureSchedule(client, scheduleId, definition(taskQueue, settings.intervalMinutes, settings.lookbackMinutes));
}
