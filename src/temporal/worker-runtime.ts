import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Logger } from '../logger.js';

let installed = false;

/**
 * Installs the Temporal worker runtime once per process: SDK logs go to pino, the worker's own metrics
 * (task latencies, slots, polls) to a Prometheus endpoint when `metricsBindAddress` is set, and no
 * signal handlers of its own — payconfirm drains workers itself, in order, on SIGTERM.
 */
export function installWorkerRuntime(opts: { logger: Logger; level?: LogLevel; metricsBindAddress?: string | undefined }): void {
  if (installed) return;
  installed = true;
  const log = opts.logger.child({ component: 'temporal-sdk' });
  Runtime.install({
    logger: new DefaultLogger(opts.level ?? 'WARN', (entry) => {
      const level = entry.level === 'TRACE' ? 'trace' : (entry.level.toLowerCase() as 'debug' | 'info' | 'warn' | 'error');
      log[level](entry.meta ?? {}, entry.message);
    }),
    shutdownSignals: [],
    ...(opts.metricsBindAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress: opts.metricsBindAddress } } } } : {}),
  });
}
