import { proxyActivities } from '@temporalio/workflow';
import type { StripeEventActivities } from '../activities/stripe-event-activities.js';

/** Run by a Temporal Schedule (src/webhooks/inbox-prune-schedule.ts): deletes finished inbox rows past retention. */
export async function webhookInboxPruneWorkflow(input: { retentionDays: number }): Promise<{ deleted: number }> {
  const { pruneWebhookInbox } = proxyActivities<StripeEventActivities>({
    startToCloseTimeout: '5 minutes',
    retry: { initialInterval: '10 seconds', maximumInterval: '5 minutes', maximumAttempts: 10 },
  });
  return { deleted: await pruneWebhookInbox({ retentionDays: input.retentionDays }) };
}
