import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type RunningPostgres } from '../../src/dev/embedded-postgres.js';
import { freePort } from '../../src/dev/free-port.js';
import { ensureTool, TEMPORAL_CLI } from '../../src/dev/go-tools.js';
import { startTemporalDevServer, type TemporalDevServer } from '../../src/dev/temporal-dev-server.js';
import { connectClient } from '../../src/temporal/connection.js';
import { registerSearchAttributes } from '../../src/temporal/register-search-attributes.js';
import { bundleWorkflows } from '../../src/worker/workflow-source.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalUiUrl: string | null;
    temporalCliPath: string;
    databaseUrl: string;
    workflowBundlePath: string;
    runDir: string;
  }
}

const log = (line: string) => process.stderr.write(`[test setup] ${line}\n`);

/**
 * Starts the real servers once per run: a Temporal dev server (with its Web UI, search attributes
 * registered) and an embedded Postgres — or uses TEMPORAL_ADDRESS / DATABASE_URL when given — and
 * bundles the workflow code once. Everything is stopped at the end, even when tests fail.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const runDir = mkdtempSync(join(tmpdir(), 'payconfirm-test-'));
  let temporal: TemporalDevServer | undefined;
  let postgres: RunningPostgres | undefined;
  const teardown = async () => {
    await Promise.allSettled([temporal?.stop(), postgres?.stop()]);
    if (!process.env.PAYCONFIRM_KEEP_TEST_DIR) rmSync(runDir, { recursive: true, force: true });
  };
  try {
    const cliPath = await ensureTool(TEMPORAL_CLI, log);
    const [temporalReady, postgresReady, bundle] = await Promise.all([
      (async () => {
        if (process.env.TEMPORAL_ADDRESS) {
          const { connection } = await connectClient({ address: process.env.TEMPORAL_ADDRESS, namespace: 'default' });
          await registerSearchAttributes(connection, 'default');
          await connection.close();
          return { address: process.env.TEMPORAL_ADDRESS, uiUrl: process.env.TEMPORAL_UI_URL ?? null };
        }
        temporal = await startTemporalDevServer({
          cliPath,
          port: await freePort(),
          uiPort: await freePort(),
          logFile: join(runDir, 'temporal.log'),
        });
        return { address: temporal.address, uiUrl: temporal.uiUrl ?? null };
      })(),
      (async () => {
        if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
        postgres = await startEmbeddedPostgres({ dataDir: join(runDir, 'postgres'), port: await freePort() });
        return postgres.url;
      })(),
      bundleWorkflows(),
    ]);
    const workflowBundlePath = join(runDir, 'workflow-bundle.js');
    writeFileSync(workflowBundlePath, bundle.code);
    project.provide('temporalAddress', temporalReady.address);
    project.provide('temporalUiUrl', temporalReady.uiUrl);
    project.provide('temporalCliPath', cliPath);
    project.provide('databaseUrl', postgresReady);
    project.provide('workflowBundlePath', workflowBundlePath);
    project.provide('runDir', runDir);
    log(`Temporal ${temporalReady.address}${temporalReady.uiUrl ? ` (UI ${temporalReady.uiUrl})` : ''}, Postgres ready, workflows bundled`);
  } catch (err) {
    await teardown();
    throw err;
  }
  return teardown;
}
