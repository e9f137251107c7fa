import { proxyActivities } from '@temporalio/workflow';
import type { MaintenanceActivities } from '../activities/maintenance-activities.js';

/**
 * Run hourly by a Temporal Schedule (src/webhooks/inbox-prune-schedule.ts): deletes finished inbox rows past their
 * retention, then API Idempotency-Keys past theirs.
 */
export async function webhookInboxPruneWorkflow(input: { retentionDays: number }): Promise<{ deleted: number; idempotencyKeysDeleted: number }> {
  const { pruneWebhookInbox, pruneIdempotencyKeys } = proxyActivities<MaintenanceActivities>({
    startToCloseTimeout: '5 minutes',
    retry: { initialInterval: '10 seconds', maximumInterval: '5 minutes', maximumAttempts: 10 },
  });
  const deleted = await pruneWebhookInbox({ retentionDays: input.retentionDays });
  return { deleted, idempotencyKeysDeleted: await pruneIdempotencyKeys() };
}
