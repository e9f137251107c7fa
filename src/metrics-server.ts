import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from './metrics.js';

/**
 * A process's `GET /metrics` on a listener of its own, apart from the API's port (issue 19, item 7): the API's
 * (METRICS_HOST, METRICS_PORT; loopback by default, so a scrape is never open to the API's callers) and the worker's
 * (WORKER_METRICS_PORT, src/worker/worker-metrics-server.ts). Anything but GET /metrics answers a JSON 404.
 */
export interface RunningMetricsServer {
  /** Where to scrape it from this host. */
  url: string;
  close(): Promise<void>;
}

/** Where to reach a listener bound to `host` from this host (0.0.0.0 / :: mean any interface). */
export const reachableHost = (host: string): string =>
  host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' || host === '[::]' ? '[::1]' : host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;

export function startMetricsServer(opts: {
  metrics: Metrics;
  /** 0: a free port. */
  port: number;
  host: string;
  /** Text appended to the scrape (the worker adds the Temporal runtime's metrics). */
  extraText?: () => Promise<string>;
}): Promise<RunningMetricsServer> {
  const server = createServer({ requestTimeout: 10_000 }, (req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?', 1)[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'not_found', message: 'only GET /metrics is served here' } }));
      return;
    }
    void Promise.all([opts.metrics.registry.metrics(), opts.extraText?.() ?? ''])
      .then(([own, extra]) => res.writeHead(200, { 'content-type': opts.metrics.registry.contentType }).end(own + (extra ? `\n${extra}` : '')))
      .catch(() => res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'metrics_failed', message: 'could not collect metrics' } })));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://${reachableHost(opts.host)}:${port}/metrics`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
