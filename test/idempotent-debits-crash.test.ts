import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../src/db/accounts.js';
import { creditPayment } from '../src/db/ledger.js';
import { freePort } from '../src/dev/free-port.js';
import { projectRoot } from '../src/runtime/project-paths.js';
import { eventually } from './support/eventually.js';
import { callApi } from './support/test-api.js';
import { createTestContext, uniqueSuffix, type TestContext } from './support/test-context.js';
import { serviceEnv } from './support/worker-process.js';

/**
 * The API process is killed (SIGKILL) in the middle of a debit — its key taken, its transaction open, nothing
 * committed. The retry, once the dead request's lease has run out, takes the key over and debits exactly once.
 */
let ctx: TestContext;
const children: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  ctx = await createTestContext('debits_crash');
});
afterAll(async () => {
  for (const stop of children) await stop().catch(() => {});
  await ctx?.close();
});

async function spawnApi(): Promise<{ url: string; kill(): Promise<unknown> }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', join('src', 'api', 'main.ts')], {
    cwd: projectRoot(),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: serviceEnv(ctx, { STRIPE_API_BASE: 'http://127.0.0.1:9', PORT: String(port), IDEMPOTENCY_LEASE_SECONDS: '2', LOG_LEVEL: 'warn' }),
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const kill = () => (child.exitCode === null && child.signalCode === null ? (child.kill('SIGKILL'), exited) : exited);
  children.push(kill);
  const url = `http://127.0.0.1:${port}`;
  await eventually(() => callApi(url, 'GET', '/healthz').then((r) => r.status, () => 0), (s) => s === 200, { timeoutMs: 60_000, description: `API up:\n${output}` });
  return { url, kill };
}

describe('a crash in the middle of a debit', () => {
  it('SIGKILL with the key taken and the work uncommitted: nothing applied; the retry takes the key over and applies once', async () => {
    const { account, apiKey } = await createAccount(ctx.pool, { stripeCustomerId: `cus_crash${uniqueSuffix()}` });
    await creditPayment(ctx.pool, { accountId: account.id, paymentIntentId: `pi_crash${uniqueSuffix()}`, amountMinor: 1_000, currency: 'usd' });
    const body = { amount_minor: 300, currency: 'usd', reference: 'crash test' };
    const debitAt = (url: string) => callApi(url, 'POST', '/accounts/me/debits', { apiKey, body, headers: { 'idempotency-key': 'crash-1' } });

    const first = await spawnApi();
    // Hold the account's balance row: the API's debit claims its key, then waits inside its transaction.
    const blocker = await ctx.pool.connect();
    await blocker.query('BEGIN');
    await blocker.query("SELECT amount_minor FROM balances WHERE account_id = $1 AND currency = 'usd' FOR UPDATE", [account.id]);
    const lost = debitAt(first.url).catch(() => 'connection lost');
    await eventually(
      async () => (await ctx.pool.query("SELECT lock_token FROM idempotency_keys WHERE account_id = $1 AND idempotency_key = 'crash-1'", [account.id])).rows[0],
      (row) => Boolean(row?.lock_token),
      { description: 'the debit holds its key' },
    );
    await first.kill();
    expect(await lost).toBe('connection lost');
    await blocker.query('ROLLBACK');
    blocker.release();

    const second = await spawnApi();
    const retried = await eventually(() => debitAt(second.url), (r) => r.status !== 409, { timeoutMs: 30_000, description: 'the dead request\'s lease runs out' });
    expect(retried.status).toBe(201);
    expect(retried.body).toMatchObject({ debit: { amount_minor: 300 }, balance: { amount_minor: 700 } });
    const { rows } = await ctx.pool.query("SELECT amount_minor FROM ledger_entries WHERE account_id = $1 AND kind = 'usage_debit'", [account.id]);
    expect(rows).toEqual([{ amount_minor: -300 }]);
    const replay = await debitAt(second.url);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(retried.body);
  });
});
