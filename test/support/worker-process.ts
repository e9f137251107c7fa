import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../src/runtime/project-paths.js';
import { stripeTaskQueueFor } from '../../src/temporal/task-queues.js';
import { eventually } from './eventually.js';
import { cleanEnv } from './run-process.js';
import { TEST_WEBHOOK_SECRET } from './test-api.js';
import type { TestContext } from './test-context.js';

/** payconfirm's real worker entry point (`src/worker/main.ts`) running as a child process of the test. */
export interface WorkerProcess {
  readonly pid: number;
  /** Resolves when the process has exited, with its exit code or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last lines it printed (for failure messages). */
  output(): string;
  /** SIGKILL: no drain, no cleanup — sockets and task slots are simply gone. Resolves once it is dead. */
  kill(): Promise<void>;
  /** SIGTERM (graceful drain), SIGKILL if it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface WorkerProcessOptions {
  stripeApiBase: string;
  stripeSecretKey?: string;
  /** Per-request Stripe timeout in the child (STRIPE_TIMEOUT_MS). */
  stripeTimeoutMs?: number;
  logLevel?: string;
  readyTimeoutMs?: number;
  /** More of the child's environment (e.g. SMTP_URL). */
  env?: Record<string, string>;
}

const OUTPUT_LIMIT = 16_000;
const { TaskQueueKind, TaskQueueType } = temporal.api.enums.v1;

/**
 * Spawns `node --import tsx src/worker/main.ts` against the test context's Postgres schema and task queue,
 * and resolves once Temporal lists this process (identity `<pid>@host`) as a poller on both of its queues:
 * workflow tasks on the main queue and activity tasks on the Stripe queue.
 */
export async function startWorkerProcess(ctx: TestContext, opts: WorkerProcessOptions): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join('src', 'worker', 'main.ts')], {
    cwd: projectRoot(),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: serviceEnv(ctx, {
      STRIPE_SECRET_KEY: opts.stripeSecretKey ?? 'sk_test_fake',
      STRIPE_API_BASE: opts.stripeApiBase,
      STRIPE_TIMEOUT_MS: String(opts.stripeTimeoutMs ?? 8_000),
      LOG_LEVEL: opts.logLevel ?? 'warn',
      SHUTDOWN_GRACE_MS: '2000',
      ...opts.env,
    }),
  });
  const worker = wrapChildProcess(child);
  try {
    await eventually(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`worker exited early:\n${worker.output()}`);
        return pollsBoth(ctx, worker.pid);
      },
      Boolean,
      { timeoutMs: opts.readyTimeoutMs ?? 60_000, intervalMs: 200, description: `worker process ${worker.pid} polling ${ctx.taskQueue}` },
    );
  } catch (err) {
    await worker.kill();
    throw new Error(`${(err as Error).message}\n--- worker output ---\n${worker.output()}`);
  }
  return worker;
}

/**
 * The environment of a payconfirm process (API or worker) run as a child of a test: this test file's Postgres
 * schema and task queue on the run's servers, the test webhook secret, and `extra` (Stripe base URL, port…).
 */
export function serviceEnv(ctx: TestContext, extra: Record<string, string>): NodeJS.ProcessEnv {
  return cleanEnv({
    DATABASE_URL: ctx.databaseUrl,
    DATABASE_SCHEMA: ctx.schema,
    TEMPORAL_ADDRESS: ctx.temporalAddress,
    TEMPORAL_TASK_QUEUE: ctx.taskQueue,
    STRIPE_SECRET_KEY: 'sk_test_fake',
    STRIPE_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    // The API's metrics listener on a free port: test processes never contend for 9465.
    METRICS_PORT: '0',
    ...extra,
  });
}

/** A spawned child as a WorkerProcess: its last output kept, SIGKILL or SIGTERM-then-SIGKILL, awaited. */
export function wrapChildProcess(child: ChildProcess): WorkerProcess {
  if (child.pid === undefined) throw new Error('the worker process did not start');
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-OUTPUT_LIMIT);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
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

async function pollsBoth(ctx: TestContext, pid: number): Promise<boolean> {
  const [workflows, stripeActivities] = await Promise.all([
    pollerIdentities(ctx.connection, ctx.taskQueue, TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW),
    pollerIdentities(ctx.connection, stripeTaskQueueFor(ctx.taskQueue), TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY),
  ]);
  const mine = (identity: string) => identity.startsWith(`${pid}@`);
  return workflows.some(mine) && stripeActivities.some(mine);
}

/** Identities (`<pid>@host`) of the workers Temporal lists polling `taskQueue` for tasks of `taskQueueType`. */
export async function pollerIdentities(connection: Connection, taskQueue: string, taskQueueType: temporal.api.enums.v1.TaskQueueType): Promise<string[]> {
  const res = await connection.workflowService.describeTaskQueue({
    namespace: 'default',
    taskQueue: { name: taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType,
  });
  return (res.pollers ?? []).map((p) => p.identity ?? '');
}
