import { loadConfig, requireBackends } from '../config.js';
import { createLogger } from '../logger.js';
import { createMetrics } from '../metrics.js';
import { openBackends } from '../runtime/backends.js';
import { runMain } from '../runtime/startup-error.js';
import { shutdownSignal } from '../runtime/shutdown-signal.js';
import { connectWorker } from '../temporal/connection.js';
import { installWorkerRuntime } from '../temporal/worker-runtime.js';
import { stripeActivitiesPerSecond } from '../stripe/stripe-rate-limit.js';
import { ensureInboxPruneSchedule } from '../webhooks/inbox-prune-schedule.js';
import { createWorkers, runWorkers } from './create-workers.js';
import { startWorkerMetricsServer, workerMetricsSettings } from './worker-metrics-server.js';

/**
 * The worker process: `node dist/src/worker/main.js` (or `npm run worker`). Scale out by running more;
 * they share the task queues. SIGTERM drains: no new tasks, in-flight activities get the grace time.
 */
runMain('worker', async () => {
  const config = requireBackends(loadConfig());
  const logger = createLogger({ level: config.logLevel, name: 'payconfirm-worker' });
  const metricsSettings = workerMetricsSettings();
  installWorkerRuntime({ logger, metricsBindAddress: metricsSettings.temporalBindAddress });
  const metrics = createMetrics();
  const backends = await openBackends(config, 'payconfirm-worker');
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
    shutdownGraceTimeMs: config.shutdownGraceMs,
  });
  // Hourly prune of finished webhook inbox rows past WEBHOOK_INBOX_RETENTION_DAYS (idempotent; every worker may call it).
  await ensureInboxPruneSchedule(backends.temporal.client, config.temporal.taskQueue, config.webhookInboxRetentionDays);
  const metricsServer =
    metricsSettings.port === undefined
      ? undefined
      : await startWorkerMetricsServer({ metrics, port: metricsSettings.port, temporalBindAddress: metricsSettings.temporalBindAddress });
  logger.info(
    {
      taskQueue: config.temporal.taskQueue,
      stripeRequestsPerSecond: config.stripe.rateLimitPerSecond,
      stripeActivitiesPerSecond: stripeActivitiesPerSecond(config.stripe.rateLimitPerSecond),
      metricsUrl: metricsServer?.url,
    },
    'worker running',
  );
  const stop = shutdownSignal((signal) => logger.info({ signal }, 'shutting down: draining tasks'));
  await runWorkers(workers, stop);
  await connection.close();
  await backends.close();
  await metricsServer?.close();
  logger.info('worker stopped');
});
