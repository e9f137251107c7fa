import { temporal } from '@temporalio/proto';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../src/dev/project-paths.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import type { TeamRoute } from '../../src/routes/routes-file.js';
import type { StripeClient } from '../../src/stripe/stripe-client.js';
import { connectWorker } from '../../src/temporal/connection.js';
import { installWorkerRuntime } from '../../src/temporal/worker-runtime.js';
import { createWorkers, runWorkers } from '../../src/worker/create-workers.js';
import { eventually } from './eventually.js';
import { cleanEnv } from './run-process.js';
import { TEST_TUNING, type RunningWorkers, type TestContext } from './test-context.js';

/**
 * Team routes in tests: payconfirm's real workers (in this process) with a routes file's routes, and the team's
 * worker from examples/team-routes/ as a real child process — the one a test SIGKILLs.
 */

/** payconfirm's workers, as test-context's startTestWorkers runs them, plus team routes. */
export async function startRoutedWorkers(ctx: TestContext, opts: { stripe: StripeClient; routes: readonly TeamRoute[] }): Promise<RunningWorkers> {
  installWorkerRuntime({ logger: createLogger({ level: 'error', name: 'test-worker' }), level: 'ERROR' });
  const connection = await connectWorker({ address: ctx.temporalAddress, namespace: 'default' });
  const metrics = createMetrics();
  const workers = await createWorkers({
    connection,
    namespace: 'default',
    taskQueue: ctx.taskQueue,
    pool: ctx.pool,
    stripe: opts.stripe,
    client: ctx.client,
    metrics,
    stripeRateLimitPerSecond: 1_000,
    workflowBundle: { codePath: ctx.workflowBundlePath },
    paymentWorkflowTuning: TEST_TUNING,
    shutdownGraceTimeMs: 2_000,
    routes: opts.routes,
  });
  const abort = new AbortController();
  const running = runWorkers(workers, abort.signal);
  return {
    metrics,
    async stop() {
      abort.abort();
      await running;
      await connection.close();
    },
  };
}

/** examples/team-routes/worker.ts running as its own process. */
export interface TeamWorkerProcess {
  readonly pid: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
  /** SIGKILL: no drain; its sockets and task slots are simply gone. */
  kill(): Promise<void>;
  /** SIGTERM (the SDK drains), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

const { TaskQueueKind, TaskQueueType } = temporal.api.enums.v1;

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
  const worker = wrap(child);
  try {
    await eventually(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`team worker exited early:\n${worker.output()}`);
        const res = await ctx.connection.workflowService.describeTaskQueue({
          namespace: 'default',
          taskQueue: { name: opts.taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
          taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        });
        return (res.pollers ?? []).some((p) => (p.identity ?? '').startsWith(`${worker.pid}@`));
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

function wrap(child: ChildProcess): TeamWorkerProcess {
  if (child.pid === undefined) throw new Error('the team worker did not start');
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-16_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    pid: child.pid,
    exited,
    output: () => output,
    async kill() {
      if (alive()) child.kill('SIGKILL');
      await exited;
    },
    async stop(graceMs = 10_000) {
      if (!alive()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
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
