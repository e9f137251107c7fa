import type { ServiceConfig } from '../config.js';
import type { Metrics } from '../metrics.js';
import type { Backends } from '../runtime/backends.js';
import { connectWorker } from '../temporal/connection.js';
import { ensureInboxPruneSchedule } from '../webhooks/inbox-prune-schedule.js';
import { createWorkers, runWorkers } from './create-workers.js';

export interface RunningServiceWorkers {
  /** Settles when the workers stop (after `stop()`, or when one fails). */
  running: Promise<void>;
  /** Drains the workers (no new tasks; in-flight activities get the grace time) and closes their connection. */
  stop(): Promise<void>;
}

/**
 * payconfirm's workers as a service runs them (worker process, dev stack): both task queues from the
 * configuration, plus the inbox prune Schedule (idempotent; every worker may ensure it).
 */
export async function startServiceWorkers(config: ServiceConfig, backends: Backends, metrics: Metrics): Promise<RunningServiceWorkers> {
  const connection = await connectWorker({ ...config.temporal, address: config.temporal.address });
  const workers = await createWorkers({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    pool: backends.pool,
    stripe: backends.stripe,
    client: backends.temporal.client,
    metrics,
    stripeRateLimitPerSecond: config.stripe.rateLimitPerSecond,
    moneyPolicy: config.moneyPolicy,
    shutdownGraceTimeMs: config.shutdownGraceMs,
  });
  await ensureInboxPruneSchedule(backends.temporal.client, config.temporal.taskQueue, config.webhookInboxRetentionDays);
  const abort = new AbortController();
  const running = runWorkers(workers, abort.signal).finally(() => connection.close());
  return {
    running,
    stop: () => {
      abort.abort();
      return running;
    },
  };
}
