import { DefaultLogger, Runtime, type LogEntry, type LogLevel } from '@temporalio/worker';
import type { Logger } from '../logger.js';

let installed = false;

/** SDK notices that are expected in payconfirm's layout (the Stripe queue's worker has no workflows). */
const EXPECTED_NOTICES = new Set(['No workflows registered, not polling for workflow tasks']);

const pinoLevel = (entry: LogEntry): 'trace' | 'debug' | 'info' | 'warn' | 'error' =>
  EXPECTED_NOTICES.has(entry.message) ? 'debug' : entry.level === 'TRACE' ? 'trace' : (entry.level.toLowerCase() as 'debug' | 'info' | 'warn' | 'error');

/**
 * Installs the Temporal worker runtime once per process: SDK logs go to pino (with the workflow id,
 * activity type and task queue the SDK attaches), the worker's own metrics (task latencies, slots, polls,
 * sticky cache, activity/workflow outcomes) to a Prometheus endpoint at `metricsBindAddress`
 * (WORKER_METRICS_ADDRESS, e.g. `0.0.0.0:9464`, served at `/metrics`) — counters end in `_total` and
 * durations are in seconds, as Prometheus expects — and no signal handlers of its own: payconfirm drains
 * workers itself, in order, on SIGTERM.
 */
export function installWorkerRuntime(opts: { logger: Logger; level?: LogLevel; metricsBindAddress?: string | undefined }): void {
  if (installed) return;
  installed = true;
  const log = opts.logger.child({ component: 'temporal-sdk' });
  Runtime.install({
    logger: new DefaultLogger(opts.level ?? 'WARN', (entry) => log[pinoLevel(entry)](entry.meta ?? {}, entry.message)),
    shutdownSignals: [],
    ...(opts.metricsBindAddress
      ? {
          telemetryOptions: {
            metrics: {
              prometheus: { bindAddress: opts.metricsBindAddress, countersTotalSuffix: true, unitSuffix: true, useSecondsForDurations: true },
            },
          },
        }
      : {}),
  });
}
