import { loadConfig, requireBackends } from '../config.js';
import { createLogger } from '../logger.js';
import { createMetrics } from '../metrics.js';
import { openBackends } from '../runtime/backends.js';
import { runMain } from '../runtime/startup-error.js';
import { shutdownSignal } from '../runtime/shutdown-signal.js';
import { installWorkerRuntime } from '../temporal/worker-runtime.js';
import { stripeKeyMode } from '../stripe/stripe-request-budget.js';
import { startServiceWorkers } from './start-service-workers.js';
import { loadTeamRoutes } from '../routes/routes-file.js';
import { startWorkerMetricsServer, workerMetricsSettings } from './worker-metrics-server.js';

/**
 * The worker process: `node dist/src/worker/main.js` (or `npm run worker`). Scale out by running more;
 * they share the task queues. SIGTERM drains: no new tasks, in-flight activities get the grace time.
 */
runMain('worker', async () => {
  const config = requireBackends(loadConfig());
  // PAYCONFIRM_ROUTES_FILE: every mistake is told before anything connects (RoutesFileError, one line each).
  const routes = loadTeamRoutes(config);
  const logger = createLogger({ level: config.logLevel, name: 'payconfirm-worker' });
  const metricsSettings = workerMetricsSettings();
  installWorkerRuntime({ logger, metricsBindAddress: metricsSettings.temporalBindAddress });
  const metrics = createMetrics();
  const backends = await openBackends(config, 'payconfirm-worker');
  const workers = await startServiceWorkers(config, backends, metrics, logger, routes);
  const metricsServer =
    metricsSettings.port === undefined
      ? undefined
      : await startWorkerMetricsServer({ metrics, port: metricsSettings.port, temporalBindAddress: metricsSettings.temporalBindAddress });
  logger.info(
    {
      taskQueue: config.temporal.taskQueue,
      stripeBudget: { ...config.stripe.budget, mode: stripeKeyMode(config.stripe.secretKey) },
      metricsUrl: metricsServer?.url,
    },
    'worker running',
  );
  const stop = shutdownSignal((signal) => logger.info({ signal }, 'shutting down: draining tasks'));
  stop.addEventListener('abort', () => void workers.stop(), { once: true });
  await workers.running;
  await backends.close();
  await metricsServer?.close();
  logger.info('worker stopped');
});
