import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { Backends } from '../runtime/backends.js';
import type { PaymentWorkflowTuning } from '../../workflows/payment-workflow-input.js';
import { createApp } from './app.js';
import { buildApiDeps } from './build-api-deps.js';
import { listen } from './http-server.js';

export interface RunningApi {
  url: string;
  close(): Promise<void>;
}

/** Builds the API from opened backends and listens on PORT; `close` drains it within the shutdown grace. */
export async function startApi(opts: {
  backends: Backends;
  config: Config;
  logger: Logger;
  metrics: Metrics;
  host?: string;
  tuning?: PaymentWorkflowTuning;
}): Promise<RunningApi> {
  const deps = buildApiDeps(opts.backends, opts.config, opts.logger, opts.metrics, opts.tuning);
  const server = await listen(createApp(deps), opts.config.http.port, opts.host);
  return { url: server.url, close: () => server.close(opts.config.shutdownGraceMs) };
}
