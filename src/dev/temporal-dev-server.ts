import { Connection } from '@temporalio/client';
import { searchAttributeFlags } from '../temporal/search-attributes.js';
import { requireFreePort } from './port-check.js';
import { startManagedProcess, waitFor, type ManagedProcess } from './managed-process.js';

export interface TemporalDevServerOptions {
  cliPath: string;
  port: number;
  /** Omit for a headless server (tests that do not look at the UI). */
  uiPort?: number;
  /** SQLite file that keeps workflows across restarts; omit for in-memory. */
  dbFile?: string;
  logFile?: string;
  namespace?: string;
  /** Dynamic-config values over DEV_DYNAMIC_CONFIG (benchmarks compare settings, e.g. TRANSFER_QUEUE_READS_KEY; `key` → value as the CLI takes it). */
  dynamicConfig?: Record<string, string | number | boolean>;
}

/**
 * How often a second the history service may read its transfer queue (workflow and activity tasks on their way to
 * matching), per shard. Temporal's default is 20 and the dev server has one shard: past a burst of a dozen payments
 * every task then waited 20–50 ms to be read, on every hop of every workflow (bench/dispatch-latency.ts). At 200 a
 * task waits at most 5 ms; throughput is unchanged within the noise (docs/architecture.md, "Throughput, measured").
 */
export const DEV_TRANSFER_QUEUE_POLLS_PER_SECOND = 200;

/** The dynamic-config key of that read rate. */
export const TRANSFER_QUEUE_READS_KEY = 'history.transferProcessorMaxPollRPS';

/**
 * The dev server's dynamic config, as a production cluster would set it. Search attributes need no cache setting:
 * `--search-attribute` writes them into the namespace before the server's services start, and ones added later
 * (`npm start` on an older data dir) are served at once too (test/temporal-dev-server.test.ts). Temporal's own test
 * servers set `system.forceSearchAttributesCacheRefreshOnRead`, which its docs say must not be on in production: it
 * re-reads namespace and cluster metadata on every lookup. payconfirm's dev server set it until 2026-12; without it
 * the CPU a payment costs was the same within the noise (docs/architecture.md, "Throughput, measured").
 */
export const DEV_DYNAMIC_CONFIG: Readonly<Record<string, string | number | boolean>> = {
  // One partition per task queue: the dev server's queues are small, and priority keys then order one queue.
  'matching.numTaskqueueReadPartitions': 1,
  'matching.numTaskqueueWritePartitions': 1,
  // Task-queue priority (src/temporal/priorities.ts): the matcher that honours priority keys.
  'matching.useNewMatcher': true,
  // Tasks reach matching without waiting for the history service's next read of its queue (see the constant).
  [TRANSFER_QUEUE_READS_KEY]: DEV_TRANSFER_QUEUE_POLLS_PER_SECOND,
};

export interface TemporalDevServer {
  readonly address: string;
  readonly uiUrl: string | undefined;
  /** The server's process id (benchmarks read its CPU time). */
  readonly pid: number | undefined;
  /** Stops the server; with a dbFile, start again with the same options to get the same state back. */
  stop(): Promise<void>;
}

/**
 * Runs `temporal server start-dev` with payconfirm's search attributes registered, and waits until its
 * frontend answers. WAL + synchronous=NORMAL make the SQLite store several times faster and stay crash-safe.
 */
export async function startTemporalDevServer(opts: TemporalDevServerOptions): Promise<TemporalDevServer> {
  const address = `127.0.0.1:${opts.port}`;
  // Readiness is probed on the port: something else answering there must not pass for our server.
  await requireFreePort(opts.port, 'Temporal frontend', 'TEMPORAL_DEV_PORT');
  if (opts.uiPort) await requireFreePort(opts.uiPort, 'Temporal Web UI', 'TEMPORAL_UI_PORT');
  const args = [
    'server', 'start-dev',
    '--ip', '127.0.0.1',
    '--port', String(opts.port),
    '--log-level', 'warn',
    ...(opts.uiPort ? ['--ui-port', String(opts.uiPort), '--ui-ip', '127.0.0.1'] : ['--headless']),
    ...(opts.dbFile ? ['--db-filename', opts.dbFile, '--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal'] : []),
    ...(opts.namespace && opts.namespace !== 'default' ? ['--namespace', opts.namespace] : []),
    ...searchAttributeFlags(),
    ...Object.entries({ ...DEV_DYNAMIC_CONFIG, ...opts.dynamicConfig }).flatMap(([key, value]) => ['--dynamic-config-value', `${key}=${String(value)}`]),
  ];
  const proc: ManagedProcess = startManagedProcess(opts.cliPath, args, { logFile: opts.logFile });
  let exitedEarly = false;
  void proc.exited.then(() => (exitedEarly = true));
  try {
    await waitFor(`Temporal dev server on ${address}`, async () => {
      if (exitedEarly) throw new Error(`temporal exited early (see ${opts.logFile ?? 'its output'})`);
      return temporalAnswers(address, opts.namespace ?? 'default');
    });
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return {
    address,
    uiUrl: opts.uiPort ? `http://127.0.0.1:${opts.uiPort}` : undefined,
    pid: proc.child.pid,
    stop: () => proc.stop(15_000),
  };
}

/** True when the frontend at `address` serves `namespace` (used for readiness, not for traffic). */
export async function temporalAnswers(address: string, namespace: string): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: 1_000 });
  try {
    await connection.workflowService.describeNamespace({ namespace });
    return true;
  } finally {
    await connection.close();
  }
}
