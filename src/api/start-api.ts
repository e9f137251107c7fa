import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { Backends } from '../runtime/backends.js';
import type { PaymentWorkflowTuning } from '../../workflows/payment-workflow-input.js';
import { startInboxRelay } from '../webhooks/inbox-relay.js';
import { startMetricsServer } from '../metrics-server.js';
import { createApp } from './app.js';
import { buildApiDeps } from './build-api-deps.js';
import { listen } from './http-server.js';
import { webhookRoutes } from './routes/webhook-routes.js';

export interface RunningApi {
  url: string;
  /** GET /metrics, on its own listener (METRICS_HOST, METRICS_PORT). */
  metricsUrl: string;
  close(): Promise<void>;
}

/**
 * Builds the API from opened backends, starts the webhook inbox relay, listens on PORT and serves /metrics on
 * METRICS_HOST:METRICS_PORT (src/metrics-server.ts). `close` stops accepting,
 * stops the relay (its round in flight finishes; rows still waiting stay in the inbox for the next start or another
 * replica), then lets requests drain within the shutdown grace.
 */
export async function startApi(opts: {
  backends: Backends;
  config: Config;
  logger: Logger;
  metrics: Metrics;
  host?: string;
  tuning?: PaymentWorkflowTuning;
}): Promise<RunningApi> {
  const deps = buildApiDeps(opts.backends, opts.config, opts.logger, opts.metrics, opts.tuning);
  const relay = startInboxRelay({
    pool: deps.pool,
    events: deps.payments,
    logger: opts.logger,
    metrics: opts.metrics,
    maxStartsPerSecond: opts.config.webhookRelayStartsPerSecond,
    deadLetter: { maxAttempts: opts.config.webhookRelayMaxAttempts },
  });
  deps.onInboxRow = relay.wake;
  const app = createApp(deps, [webhookRoutes(deps)]);
  const metricsServer = await startMetricsServer({ metrics: opts.metrics, host: opts.config.metrics.host, port: opts.config.metrics.port }).catch(async (err: unknown) => {
    await relay.stop();
    throw err;
  });
  const server = await listen(app, opts.config.http.port, opts.host).catch(async (err: unknown) => {
    await Promise.all([relay.stop(), metricsServer.close()]);
    throw err;
  });
  return {
    url: server.url,
    metricsUrl: metricsServer.url,
    async close() {
      const draining = server.close(opts.config.shutdownGraceMs);
      await relay.stop();
      await draining;
      await metricsServer.close();
    },
  };
}
