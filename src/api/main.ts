import { loadConfig, requireBackends } from '../config.js';
import { createLogger } from '../logger.js';
import { createMetrics } from '../metrics.js';
import { openBackends } from '../runtime/backends.js';
import { runMain } from '../runtime/startup-error.js';
import { shutdownSignal } from '../runtime/shutdown-signal.js';
import { observeStripeCalls } from '../stripe/stripe-client.js';
import { startApi } from './start-api.js';

/** The HTTP API process: `node dist/src/api/main.js` (or `npm run api`). Stateless; run as many as you like. */
runMain('api', async () => {
  const config = requireBackends(loadConfig());
  const logger = createLogger({ level: config.logLevel, name: 'payconfirm-api' });
  const backends = await openBackends(config, 'payconfirm-api');
  const metrics = createMetrics();
  observeStripeCalls(backends.stripe, metrics);
  const api = await startApi({ backends, config, logger, metrics });
  logger.info({ url: api.url, metricsUrl: api.metricsUrl }, 'api listening');
  const stop = shutdownSignal((signal) => logger.info({ signal }, 'shutting down: draining requests'));
  await new Promise((resolve) => stop.addEventListener('abort', resolve, { once: true }));
  await api.close();
  await backends.close();
  logger.info('api stopped');
});
