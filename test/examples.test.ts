import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot as findProjectRoot } from '../src/runtime/project-paths.js';
import { type FakeStripe } from './support/fake-stripe/index.js';
import { moneyFor, newCustomer, newPaymentIntent } from './support/payment-fixtures.js';
import { type TestApi } from './support/test-api.js';
import { startPaymentStack, type PaymentStack } from './support/payment-stack.js';
import { type TestContext } from './support/test-context.js';

/**
 * The client's example (docs/client-and-cli.md), run as users run it: `tsx examples/confirm-payment.ts pi_…` in its own process,
 * against the real API. 'payconfirm/client' resolves through package.json "exports" to dist/, which a
 * test run does not build, so a tsconfig here maps it to src/client (tsx and tsc both honour `paths`).
 */

const run = promisify(execFile);
const projectRoot = findProjectRoot();
const example = join(projectRoot, 'examples/confirm-payment.ts');

let tempDir: string;
let tsconfigPath: string;
let stack: PaymentStack;
let ctx: TestContext;
let fake: FakeStripe;
let api: TestApi;

beforeAll(async () => {
  tempDir = mkdtempSync(join(tmpdir(), 'payconfirm-examples-'));
  tsconfigPath = join(tempDir, 'tsconfig.json');
  writeFileSync(
    tsconfigPath,
    JSON.stringify({
      extends: join(projectRoot, 'tsconfig.json'),
      compilerOptions: {
        noEmit: true,
        typeRoots: [join(projectRoot, 'node_modules/@types')],
        paths: { 'payconfirm/client': [join(projectRoot, 'src/client/index.ts')] },
      },
      files: [example],
      include: [],
    }),
  );
  stack = await startPaymentStack('examples', { confirmWaitMs: 10_000 });
  ({ ctx, fake, api } = stack);
});
afterAll(async () => {
  await stack?.close();
  if (tempDir) rmSync(tempDir, { recursive: true, force: true });
});

interface ExampleRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** `tsx examples/confirm-payment.ts …args` with only the variables the example documents. */
async function runExample(args: string[], env: Record<string, string>): Promise<ExampleRun> {
  const tsx = join(projectRoot, 'node_modules/tsx/dist/cli.mjs');
  try {
    const { stdout, stderr } = await run(process.execPath, [tsx, '--tsconfig', tsconfigPath, example, ...args], {
      cwd: projectRoot,
      env: { PATH: process.env.PATH, ...env },
      timeout: 60_000,
    });
    return { exitCode: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { exitCode: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('examples/confirm-payment.ts', () => {
  it('type-checks against the client', async () => {
    const tsc = join(projectRoot, 'node_modules/typescript/bin/tsc');
    const diagnostics = await run(process.execPath, [tsc, '-p', tsconfigPath], { cwd: projectRoot, timeout: 120_000 }).then(
      () => '',
      (error: { stdout?: string }) => error.stdout || String(error),
    );
    expect(diagnostics).toBe('');
  });

  it('confirms a PaymentIntent and prints the credited result (exit 0)', async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { amount: 2_345 });

    const result = await runExample([pi], { PAYCONFIRM_API_URL: api.url, PAYCONFIRM_API_KEY: c.apiKey });

    expect(result).toMatchObject({ exitCode: 0, stderr: '' });
    const printed = JSON.parse(result.stdout);
    expect(printed).toMatchObject({ status: 'credited', paymentIntentId: pi, accountId: c.accountId, amountMinor: 2_345, currency: 'usd' });
    const money = await moneyFor(ctx, fake, pi, c.customerId);
    expect(money.ledgerCredits).toEqual([{ id: printed.ledgerEntryId, amount_minor: 2_345 }]);
  });

  it('prints not_payable for a canceled PaymentIntent and an API error for another account’s, as for an unknown one (exit 1)', async () => {
    const c = await newCustomer(ctx, fake);
    const other = await newCustomer(ctx, fake);
    const env = { PAYCONFIRM_API_URL: api.url, PAYCONFIRM_API_KEY: c.apiKey };

    const canceled = await runExample([newPaymentIntent(fake, c.customerId, { status: 'canceled' })], env);
    expect(canceled.exitCode).toBe(1);
    expect(JSON.parse(canceled.stdout)).toMatchObject({ status: 'not_payable', paymentIntentStatus: 'canceled' });

    const foreign = await runExample([newPaymentIntent(fake, other.customerId)], env);
    expect(foreign).toMatchObject({ exitCode: 1, stdout: '' });
    expect(foreign.stderr).toMatch(/^404 payment_intent_not_found: /);
  });

  it('explains its usage when the PaymentIntent id or the environment is missing (exit 1)', async () => {
    const result = await runExample([], { PAYCONFIRM_API_URL: api.url });
    expect(result).toMatchObject({ exitCode: 1, stdout: '' });
    expect(result.stderr).toContain('usage:');
  });
});
