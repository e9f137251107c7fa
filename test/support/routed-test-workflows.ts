import { proxyActivities } from '@temporalio/workflow';
import { handleRoutedEvents, type RoutedObjectInput } from '../../src/routes/team-workflow.js';

/**
 * Workflow code for test/team-routes.test.ts: `handleRoutedEvents` with a tiny history limit (it continues as new
 * every few events) and a short idle timeout, recording each handled event through an activity of the test process.
 */
const { recordHandled } = proxyActivities<{ recordHandled(eventId: string, sequence: number): Promise<void> }>({ startToCloseTimeout: '10 seconds' });

export async function compactRoutedWorkflow(input: RoutedObjectInput): Promise<{ handled: number }> {
  return handleRoutedEvents(input, (event, { sequence }) => recordHandled(event.id, sequence), {
    historyLimit: 30,
    idleTimeout: '8 seconds',
    rememberEventIds: 100,
  });
}
