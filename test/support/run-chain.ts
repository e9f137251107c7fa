import type { Client } from '@temporalio/client';
import type { History } from '@temporalio/common/lib/proto-utils.js';
import { continuedAsRunId } from './history-events.js';

/** One run of a workflow's chain of continue-as-new, with its history. */
export interface ChainRun {
  runId: string;
  history: History;
}

/**
 * Every run of the workflow's latest chain, oldest first: from the first run (named by the latest run's start
 * event) along each run's continued-as-new event. Read once the chain has ended, it is the whole story.
 */
export async function runChainOf(client: Client, workflowId: string): Promise<ChainRun[]> {
  const latest = await client.workflow.getHandle(workflowId).fetchHistory();
  const firstRunId = latest.events?.[0]?.workflowExecutionStartedEventAttributes?.firstExecutionRunId;
  if (!firstRunId) throw new Error(`${workflowId}: its latest run's history names no first run`);
  const runs: ChainRun[] = [];
  for (let runId: string | null = firstRunId; runId; ) {
    const history: History = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    runs.push({ runId, history });
    runId = continuedAsRunId(history);
  }
  return runs;
}
