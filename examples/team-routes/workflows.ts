/**
 * The billing team's workflows, run by its own worker (worker.ts) on its own task queue. payconfirm starts or
 * signals them, once per Stripe event, as payconfirm.routes.yaml says; nothing here runs in payconfirm.
 * Workflow code: deterministic, every side effect in an activity (activities.ts).
 */
import { ActivityFailure, ApplicationFailure, proxyActivities, workflowInfo } from '@temporalio/workflow';
// Outside this repository: `from 'payconfirm/routes'`.
import { handleRoutedEvents, STRIPE_EVENT_UNREADABLE, type RoutedObjectInput, type RoutedStripeEvent } from '../../src/routes/team-workflow.js';
import type { BillingTeamActivities } from './activities.js';

// No attempt limit (Temporal's default): a Stripe or database outage makes the handler wait, not fail.
const { readStripeEvent, recordHandledEvent } = proxyActivities<BillingTeamActivities>({
  startToCloseTimeout: '20 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

/**
 * `billing-sync` (per_object): one workflow per subscription, `billing-sync/sub_…`. handleRoutedEvents drops an event
 * id it has seen and hands the others over one at a time, in arrival order.
 */
export async function billingSyncWorkflow(input: RoutedObjectInput): Promise<{ handled: number }> {
  return handleRoutedEvents(input, async (event, { sequence }) => {
    // The full event (GET /v1/events/{id} with the team's key): the subscription as it was when the event happened.
    const full = await readStripeEvent(event.id).catch((err: unknown) => {
      // Stripe will never return it (older than 30 days): handle the event without its body.
      if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === STRIPE_EVENT_UNREADABLE) return null;
      throw err;
    });
    const status = typeof full?.data.object.status === 'string' ? full.data.object.status : null;
    const { workflowId, firstExecutionRunId } = workflowInfo();
    await recordHandledEvent({ event, sequence, status, handling: `${workflowId}:${firstExecutionRunId}:${sequence}` });
  });
}

/** `customer-audit` (per_event): one workflow per event, `customer-audit/evt_…`, started once by payconfirm. */
export async function customerAuditWorkflow(event: RoutedStripeEvent): Promise<void> {
  const { workflowId, runId } = workflowInfo();
  await recordHandledEvent({ event, sequence: 1, status: null, handling: `${workflowId}:${runId}` });
}
