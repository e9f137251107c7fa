import { randomBytes } from 'node:crypto';
import { ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { ensureSchedule, removeSchedule } from '../temporal/ensure-schedule.js';
import type { StripeEventBackfillInput, StripeEventBackfillResult, stripeEventBackfillWorkflow } from '../../workflows/stripe-event-backfill-workflow.js';

export const STRIPE_EVENT_BACKFILL_WORKFLOW_TYPE = 'stripeEventBackfillWorkflow';

/** One schedule per task queue (several payconfirm deployments may share a namespace). */
export const stripeEventBackfillScheduleId = (taskQueue: string): string => `payconfirm-stripe-event-backfill-${taskQueue}`;

export interface StripeEventBackfillSettings {
  /** STRIPE_EVENT_BACKFILL_INTERVAL_MINUTES; 0: no schedule (an existing one is deleted). */
  intervalMinutes: number;
  /** STRIPE_EVENT_BACKFILL_LOOKBACK_DAYS: how far the first run (no cursor yet) looks back. */
  lookbackDays: number;
}

function definition(taskQueue: string, settings: StripeEventBackfillSettings) {
  const every = `${settings.intervalMinutes} minutes`;
  return {
    spec: { intervals: [{ every }] },
    action: {
      type: 'startWorkflow' as const,
      workflowType: STRIPE_EVENT_BACKFILL_WORKFLOW_TYPE,
      workflowId: `stripe-event-backfill-${taskQueue}`,
      taskQueue,
      args: [{ lookbackDays: settings.lookbackDays }] as Parameters<typeof stripeEventBackfillWorkflow>,
      staticSummary: 'Backfill from Stripe: GET /v1/events since the cursor, into the webhook inbox',
    },
    // A run still listing when the next is due: skip (the next run starts from the cursor the long one leaves).
    // One missed run is worth catching up; more than one would list the same window again.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: every },
  };
}

/**
 * Makes sure the Temporal Schedule of the Stripe event backfill exists (every STRIPE_EVENT_BACKFILL_INTERVAL_MINUTES),
 * or, with the interval 0, that it does not. Idempotent, for every worker at start: an existing schedule takes this
 * definition and keeps its state (paused stays paused). A new one fires no sooner than a full interval after it is
 * made (interval schedules are aligned to the epoch, so otherwise the first run could come seconds after a worker's
 * first start). Returns the schedule id, or null when none is wanted.
 */
export async function ensureStripeEventBackfillSchedule(client: Client, taskQueue: string, settings: StripeEventBackfillSettings): Promise<string | null> {
  const scheduleId = stripeEventBackfillScheduleId(taskQueue);
  if (settings.intervalMinutes === 0) {
    await removeSchedule(client, scheduleId);
    return null;
  }
  return ensureSchedule(client, scheduleId, definition(taskQueue, settings), new Date(Date.now() + settings.intervalMinutes * 60_000));
}

/** Workflow id of an on-demand run: its own, so it never collides with the schedule's or another operator's. */
export const manualStripeEventBackfillId = (now = new Date()): string =>
  `stripe-event-backfill-manual-${now.toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`;

/** Starts an on-demand backfill (`payconfirm events backfill --since`): the scheduled run's workflow, from `sinceCreated`. */
export async function startManualStripeEventBackfill(
  client: Client,
  taskQueue: string,
  input: StripeEventBackfillInput & { sinceCreated: number },
): Promise<{ workflowId: string; result: () => Promise<StripeEventBackfillResult> }> {
  const workflowId = manualStripeEventBackfillId();
  const handle = await client.workflow.start<typeof stripeEventBackfillWorkflow>(STRIPE_EVENT_BACKFILL_WORKFLOW_TYPE, {
    taskQueue,
    workflowId,
    args: [input],
    staticSummary: `Backfill from Stripe since ${new Date(input.sinceCreated * 1000).toISOString()} (manual)`,
  });
  return { workflowId, result: () => handle.result() };
}
