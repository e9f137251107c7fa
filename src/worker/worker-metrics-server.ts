import { ConfigError } from '../config.js';
import type { Metrics } from '../metrics.js';
import { reachableHost, startMetricsServer, type RunningMetricsServer } from '../metrics-server.js';

/**
 * The worker process's `GET /metrics` (WORKER_METRICS_PORT): payconfirm's own counters from this process
 * (ledger credits, Stripe calls by endpoint and status, duplicates stopped) followed, when the Temporal
 * runtime exports its metrics (WORKER_METRICS_ADDRESS), by those — so one scrape target has both.
 * The Temporal exporter also stays reachable on its own address.
 */
export interface WorkerMetricsSettings {
  /** Port for payconfirm's worker /metrics; undefined: not served. */
  port: number | undefined;
  /** host:port where the Temporal runtime's Prometheus exporter binds; undefined: not exported. */
  temporalBindAddress: string | undefined;
}

/** Reads WORKER_METRICS_PORT and WORKER_METRICS_ADDRESS (never echoes anything but the variable's name). */
export function workerMetricsSettings(env: NodeJS.ProcessEnv = process.env): WorkerMetricsSettings {
  const rawPort = env.WORKER_METRICS_PORT?.trim();
  const rawAddress = env.WORKER_METRICS_ADDRESS?.trim();
  if (rawPort && !/^\d{1,5}$/.test(rawPort)) throw new ConfigError('WORKER_METRICS_PORT', 'must be a port number');
  if (rawAddress && !/^[A-Za-z0-9.\-\[\]:]+:\d{1,5}$/.test(rawAddress)) throw new ConfigError('WORKER_METRICS_ADDRESS', 'must be host:port');
  return { port: rawPort ? Number(rawPort) : undefined, temporalBindAddress: rawAddress || undefined };
}

/** Where to scrape an exporter bound to `bindAddress` from this host (0.0.0.0 / [::] mean any interface). */
export function scrapeUrlFor(bindAddress: string): string {
  const at = bindAddress.lastIndexOf(':');
  return `http://${reachableHost(bindAddress.slice(0, at))}:${bindAddress.slice(at + 1)}/metrics`;
}

async function temporalMetricsText(url: string): Promise<string> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return res.ok ? await res.text() : `# Temporal worker metrics unavailable: HTTP ${res.status}\n`;
  } catch {
    return '# Temporal worker metrics unavailable: exporter did not answer\n';
  }
}

export type RunningWorkerMetricsServer = RunningMetricsServer;

/** The worker's /metrics: its own counters, then the Temporal runtime's (when exported). Binds every interface by default. */
export function startWorkerMetricsServer(opts: {
  metrics: Metrics;
  port: number;
  host?: string;
  temporalBindAddress?: string | undefined;
}): Promise<RunningWorkerMetricsServer> {
  const temporalUrl = opts.temporalBindAddress ? scrapeUrlFor(opts.temporalBindAddress) : undefined;
  return startMetricsServer({
    metrics: opts.metrics,
    port: opts.port,
    host: opts.host ?? '0.0.0.0',
    ...(temporalUrl ? { extraText: () => temporalMetricsText(temporalUrl) } : {}),
  });
}
