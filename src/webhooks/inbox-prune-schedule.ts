import { ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { ensureSchedule } from '../temporal/ensure-schedule.js';
import type { webhookInboxPruneWorkflow } from '../../workflows/webhook-inbox-prune-workflow.js';

export const INBOX_PRUNE_WORKFLOW_TYPE = 'webhookInboxPruneWorkflow';

/** One schedule per task queue (several payconfirm deployments may share a namespace). */
export const inboxPruneScheduleId = (taskQueue: string): string => `payconfirm-webhook-inbox-prune-${taskQueue}`;

function definition(taskQueue: string, retentionDays: number) {
  return {
    spec: { intervals: [{ every: '1 hour' }] },
    action: {
      type: 'startWorkflow' as const,
      workflowType: INBOX_PRUNE_WORKFLOW_TYPE,
      workflowId: `webhook-inbox-prune-${taskQueue}`,
      taskQueue,
      args: [{ retentionDays }] as Parameters<typeof webhookInboxPruneWorkflow>,
      workflowExecutionTimeout: '1 hour',
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
  };
}

/**
 * Makes sure the Temporal Schedule that prunes the webhook inbox exists (hourly; finished rows older than
 * WEBHOOK_INBOX_RETENTION_DAYS). Idempotent: an existing schedule is updated to this definition (so a changed
 * retention takes effect) and keeps its state (paused stays paused). Returns the schedule id.
 */
export async function ensureInboxPruneSchedule(client: Client, taskQueue: string, retentionDays: number): Promise<string> {
  const scheduleId = inboxPruneScheduleId(taskQueue);
  return ensureSchedule(client, scheduleId, definition(taskQueue, retentionDays));
}
