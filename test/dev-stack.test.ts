import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../src/dev/free-port.js';
import { portInUse } from '../src/dev/port-check.js';
import { runPayconfirm } from './support/cli-process.js';
import { eventually } from './support/eventually.js';
import { cleanEnv, PROJECT_ROOT } from './support/run-process.js';

/**
 * `npm start` as a newcomer runs it (here on free ports and a temporary data dir): everything embedded comes
 * up, /readyz answers 200, the Temporal UI lists the search attributes; Ctrl-C (SIGINT to the process
 * group, as a terminal sends it) stops it all; starting again keeps the data.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'payconfirm-stack-'));
const started: ChildProcess[] = [];
afterAll(() => {
  // A failed run must not leave a stack behind: SIGTERM stops it in order, servers included.
  for (const child of started) if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
});

interface Ports {
  api: number;
  temporal: number;
  ui: number;
  postgres: number;
  stripeMock: number;
  mailpitSmtp: number;
  mailpitUi: number;
}

function startStack(ports: Ports): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/dev/start-stack.ts'], {
    cwd: PROJECT_ROOT,
    detached: true, // its own process group, like a terminal's foreground job
    stdio: ['ignore', 'pipe', 'pipe'],
    env: cleanEnv({
      PAYCONFIRM_DATA_DIR: dataDir,
      PORT: String(ports.api),
      METRICS_PORT: '0',
      TEMPORAL_DEV_PORT: String(ports.temporal),
      TEMPORAL_UI_PORT: String(ports.ui),
      PAYCONFIRM_PG_PORT: String(ports.postgres),
      STRIPE_MOCK_PORT: String(ports.stripeMock),
      MAILPIT_SMTP_PORT: String(ports.mailpitSmtp),
      MAILPIT_UI_PORT: String(ports.mailpitUi),
      TEMPORAL_CLI_PATH: inject('temporalCliPath'),
      LOG_LEVEL: 'warn',
    }),
  });
  started.push(child);
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  return { child, output: () => output };
}

async function ctrlC(child: ChildProcess, output: () => string): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  process.kill(-child.pid!, 'SIGINT');
  let timer: NodeJS.Timeout | undefined;
  const tooLong = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the stack did not stop within 60 s of SIGINT:\n${output()}`)), 60_000);
  });
  try {
    return await Promise.race([exited, tooLong]);
  } finally {
    clearTimeout(timer);
  }
}

const untilReady = (port: number, output: () => string) =>
  eventually(() => readyz(port), (r) => r.status === 200, { timeoutMs: 90_000, description: 'stack ready' }).catch((err: Error) => {
    throw new Error(`${err.message}\n${output()}`);
  });

const readyz = (port: number) => fetch(`http://127.0.0.1:${port}/readyz`).then(async (r) => ({ status: r.status, body: await r.json() }));

describe('npm start (the dev stack)', () => {
  it('comes up on embedded defaults, stops cleanly on Ctrl-C, and keeps its data across restarts', { timeout: 300_000 }, async () => {
    const ports: Ports = { api: await freePort(), temporal: await freePort(), ui: await freePort(), postgres: await freePort(), stripeMock: await freePort(), mailpitSmtp: await freePort(), mailpitUi: await freePort() };
    const first = startStack(ports);
    const ready = await untilReady(ports.api, first.output);
    expect(ready.body).toEqual({ status: 'ready', checks: { postgres: 'ok', temporal: 'ok' } });
    expect(first.output()).toContain(`Temporal UI  http://127.0.0.1:${ports.ui}/namespaces/default/workflows`);
    expect(first.output()).toContain(`receipts to Mailpit smtp://127.0.0.1:${ports.mailpitSmtp}; read them at `);
    expect(first.output()).toContain(`http://127.0.0.1:${ports.mailpitUi}/api/v1/messages`);
    const mailbox = await fetch(`http://127.0.0.1:${ports.mailpitUi}/api/v1/messages`);
    expect(mailbox.status).toBe(200);
    expect(await mailbox.json()).toMatchObject({ messages: expect.any(Array) });

    const attributes = (await (await fetch(`http://127.0.0.1:${ports.ui}/api/v1/namespaces/default/search-attributes`)).json()) as { customAttributes: Record<string, string> };
    expect(Object.keys(attributes.customAttributes)).toEqual(
      expect.arrayContaining(['PaymentIntentId', 'StripeCustomerId', 'AccountId', 'PaymentStage', 'StripeEventType', 'AmountMinor']),
    );

    const url = `postgres://postgres:payconfirm-dev@127.0.0.1:${ports.postgres}/payconfirm`;
    const db = new pg.Client(url);
    await db.connect();
    await db.query("INSERT INTO accounts (stripe_customer_id, name) VALUES ('cus_keepme', 'kept across restarts')");
    await db.end();

    // The CLI finds the running stack by itself: nothing exported but where the stack keeps its data.
    const cli = (args: string[]) => runPayconfirm(args, { PAYCONFIRM_DATA_DIR: dataDir, PAYCONFIRM_DEV_STACK: undefined });
    const [verify, stuck] = await Promise.all([cli(['ledger', 'verify']), cli(['payments', 'stuck', '--json'])]);
    expect(verify, verify.stderr).toMatchObject({ code: 0 });
    expect(verify.stdout).toContain('ledger ok');
    expect(stuck).toMatchObject({ code: 0, json: [] });
    const envFile = join(dataDir, 'dev-stack.env');
    expect(statSync(envFile).mode & 0o777).toBe(0o600);

    expect(await ctrlC(first.child, first.output)).toBe(0);
    expect(first.output()).toContain('[payconfirm] stopped');
    expect(existsSync(envFile), 'the settings of a stopped stack are gone').toBe(false);
    expect((await cli(['ledger', 'verify'])).stderr).toContain('DATABASE_URL is required');
    for (const port of Object.values(ports)) expect(await portInUse(port), `port ${port} still open`).toBe(false);

    const second = startStack(ports);
    await untilReady(ports.api, second.output);
    const again = new pg.Client(url);
    await again.connect();
    const { rows } = await again.query("SELECT name FROM accounts WHERE stripe_customer_id = 'cus_keepme'");
    await again.end();
    expect(rows).toEqual([{ name: 'kept across restarts' }]);
    expect(await ctrlC(second.child, second.output)).toBe(0);
  });
});
