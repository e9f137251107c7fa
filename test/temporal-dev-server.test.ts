import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../src/dev/free-port.js';
import { startManagedProcess, waitFor } from '../src/dev/managed-process.js';
import { startTemporalDevServer, temporalAnswers, type TemporalDevServer } from '../src/dev/temporal-dev-server.js';
import { registerSearchAttributes } from '../src/temporal/register-search-attributes.js';
import { AmountMinorKey, PAYCONFIRM_SEARCH_ATTRIBUTES, PaymentStageKey } from '../src/temporal/search-attributes.js';
import { eventually } from './support/eventually.js';

/**
 * The dev server runs without Temporal's test setting that re-reads search attributes from its database on every
 * lookup (src/dev/temporal-dev-server.ts, DEV_DYNAMIC_CONFIG). payconfirm's search attributes must still be usable the
 * moment they exist: given as `--search-attribute` at start, or added to a database file an older dev stack made
 * (as `npm start` does, src/dev/start-stack.ts) — a start naming them is accepted and a visibility query finds it.
 */
const dir = mkdtempSync(join(tmpdir(), 'payconfirm-temporal-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function expectSearchAttributesUsable(server: TemporalDevServer): Promise<void> {
  const connection = await Connection.connect({ address: server.address });
  try {
    const client = new Client({ connection });
    const workflowId = `sa-check-${Date.now()}`;
    // No worker polls this queue: the start is checked by the frontend, the visibility record written by history.
    const handle = await client.workflow.start('paymentWorkflow', {
      taskQueue: `no-worker-${workflowId}`,
      workflowId,
      args: [],
      typedSearchAttributes: [
        { key: PaymentStageKey, value: 'sa_check' },
        { key: AmountMinorKey, value: 1234 },
      ],
    });
    const listed = await eventually(
      async () => {
        const ids: string[] = [];
        for await (const w of client.workflow.list({ query: `PaymentStage="sa_check" AND AmountMinor=1234` })) ids.push(w.workflowId);
        return ids;
      },
      (ids) => ids.length > 0,
      // Well inside Temporal's namespace-cache refresh (10 s): a stale cache would not pass by waiting for it.
      { description: 'the workflow listed by its search attributes', timeoutMs: 5_000 },
    );
    expect(listed).toEqual([workflowId]);
    await handle.terminate('search-attribute check');
  } finally {
    await connection.close();
  }
}

describe('the Temporal dev server', () => {
  it('serves the search attributes it is started with', { timeout: 60_000 }, async () => {
    const server = await startTemporalDevServer({ cliPath: inject('temporalCliPath'), port: await freePort() });
    try {
      await expectSearchAttributesUsable(server);
    } finally {
      await server.stop();
    }
  });

  it('serves the search attributes added to an older database file at once', { timeout: 120_000 }, async () => {
    const dbFile = join(dir, 'older.db');
    // An older dev stack's database: its namespace made with none of payconfirm's search attributes.
    const olderPort = await freePort();
    const older = startManagedProcess(
      inject('temporalCliPath'),
      ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(olderPort), '--headless', '--log-level', 'warn', '--db-filename', dbFile],
      {},
    );
    try {
      await waitFor('the older dev server', () => temporalAnswers(`127.0.0.1:${olderPort}`, 'default'));
    } finally {
      await older.stop(15_000);
    }

    const server = await startTemporalDevServer({ cliPath: inject('temporalCliPath'), port: await freePort(), dbFile });
    try {
      const connection = await Connection.connect({ address: server.address });
      const added = await registerSearchAttributes(connection, 'default').finally(() => connection.close());
      expect(added.sort()).toEqual(PAYCONFIRM_SEARCH_ATTRIBUTES.map((k) => k.name).sort());
      await expectSearchAttributesUsable(server);
    } finally {
      await server.stop();
    }
  });
});
