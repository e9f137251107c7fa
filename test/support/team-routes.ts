import { temporal } from '@temporalio/proto';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../src/runtime/project-paths.js';
import { eventually } from './eventually.js';
import { cleanEnv } from './run-process.js';
import type { TestContext } from './test-context.js';
import { pollerIdentities, wrapChildProcess, type WorkerProcess } from './worker-process.js';

/**
 * Team routes in tests: the team's worker from examples/team-routes/ as a real child process — the one a test
 * SIGKILLs. (payconfirm's own workers with routes: startTestWorkers' `routes`.)
 */

/** examples/team-routes/worker.ts running as its own process. */
export type TeamWorkerProcess = WorkerProcess;

const { TaskQueueType } = temporal.api.enums.v1;

/** Starts the example team worker on `taskQueue`; resolves once Temporal lists it (`<pid>@host`) polling for workflow tasks. */
export async function startTeamWorker(ctx: TestContext, opts: { taskQueue: string; stripeApiBase: string }): Promise<TeamWorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join('examples', 'team-routes', 'worker.ts')], {
    cwd: projectRoot(),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: cleanEnv({
      TEMPORAL_ADDRESS: ctx.temporalAddress,
      TEAM_TASK_QUEUE: opts.taskQueue,
      DATABASE_URL: ctx.databaseUrl,
      DATABASE_SCHEMA: ctx.schema,
      STRIPE_SECRET_KEY: 'sk_test_fake', // the fake Stripe's key
      STRIPE_API_BASE: opts.stripeApiBase,
    }),
  });
  const worker = wrapChildProcess(child);
  try {
    await eventually(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`team worker exited early:\n${worker.output()}`);
        const pollers = await pollerIdentities(ctx.connection, opts.taskQueue, TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW);
        return pollers.some((identity) => identity.startsWith(`${worker.pid}@`));
      },
      Boolean,
      { timeoutMs: 90_000, intervalMs: 250, description: `team worker ${worker.pid} polling ${opts.taskQueue}` },
    );
  } catch (err) {
    await worker.kill();
    throw new Error(`${(err as Error).message}\n--- team worker output ---\n${worker.output()}`);
  }
  return worker;
}

/** A row of the example team's own table (examples/team-routes/activities.ts). */
export interface HandledRow {
  event_id: string;
  event_type: string;
  route: string;
  object_id: string;
  sequence: number;
  status: string | null;
  duplicate_handlings: number;
}

/** What the team worker has handled so far (empty until its first start creates the table). */
export async function handledEvents(ctx: TestContext): Promise<HandledRow[]> {
  const exists = await ctx.pool.query(`SELECT to_regclass('billing_team_events') IS NOT NULL AS ok`);
  if (!exists.rows[0].ok) return [];
  const { rows } = await ctx.pool.query<HandledRow>(
    `SELECT event_id, event_type, route, object_id, sequence, status, duplicate_handlings FROM billing_team_events ORDER BY object_id, sequence`,
  );
  return rows;
}
