import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot as findProjectRoot } from '../src/runtime/project-paths.js';
import { startFakeStripe, type FakeStripe } from './support/fake-stripe/index.js';
import { moneyFor, newCustomer, newPaymentIntent } from './support/payment-fixtures.js';
import { startTestApi, type TestApi } from './support/test-api.js';
import { createTestContext, startTestWorkers, stripeClientFor, type RunningWorkers, type TestContext } from './support/test-context.js';

/**
 * The client as a user gets it: compiled from src/client alone (tsc, ESM + declarations) into a
 * directory outside the project — no node_modules, no package — then type-checked by a consumer
 * without @types/node and run by plain `node` (no tsx) against the real API.
 */

const run = promisify(execFile);
const projectRoot = findProjectRoot();
const clientSource = join(projectRoot, 'src/client');
const tsc = join(projectRoot, 'node_modules/typescript/bin/tsc');

let buildDir: string;
let outDir: string;
let ctx: TestContext;
let fake: FakeStripe;
let workers: RunningWorkers;
let api: TestApi;
let limitedApi: TestApi;

/** Compiler options a consumer without @types/node would have: the platform's fetch comes from lib DOM. */
const standaloneOptions = {
  target: 'ES2022',
  lib: ['ES2023', 'DOM'],
  types: [],
  module: 'NodeNext',
  moduleResolution: 'NodeNext',
  strict: true,
  noUncheckedIndexedAccess: true,
  verbatimModuleSyntax: true,
  skipLibCheck: true,
};

beforeAll(async () => {
  buildDir = mkdtempSync(join(tmpdir(), 'payconfirm-client-build-'));
  outDir = join(buildDir, 'dist');
  ctx = await createTestContext('client-build');
  fake = await startFakeStripe();
  workers = await startTestWorkers(ctx, { stripe: stripeClientFor(fake.url) });
  const stripe = stripeClientFor(fake.url);
  [api, limitedApi] = await Promise.all([
    startTestApi(ctx, { stripe, confirmWaitMs: 10_000 }),
    startTestApi(ctx, { stripe, accountBudgets: { confirm: { perMinute: 1, burst: 1 } } }),
  ]);
});
afterAll(async () => {
  await Promise.all([api?.close(), limitedApi?.close()]);
  await workers?.stop();
  await fake?.close();
  await ctx?.close();
  if (buildDir) rmSync(buildDir, { recursive: true, force: true });
});

const writeJson = (path: string, value: unknown) => writeFileSync(path, JSON.stringify(value, null, 2));

/** Runs tsc on a project file; a failure carries tsc's diagnostics (it prints them on stdout). */
async function compile(tsconfigPath: string): Promise<void> {
  try {
    await run(process.execPath, [tsc, '-p', tsconfigPath], { cwd: buildDir, timeout: 120_000 });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`tsc -p ${tsconfigPath} failed:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}

/** The import specifiers of an emitted ES module (static `import`/`export … from` and dynamic `import()`). */
function importSpecifiers(code: string): string[] {
  return [...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)].map((match) => match[1]!);
}

describe('the client, built and used on its own', () => {
  it('compiles from src/client alone to ESM with declarations whose only imports are its own files', async () => {
    writeJson(join(buildDir, 'tsconfig.build.json'), {
      compilerOptions: { ...standaloneOptions, declaration: true, outDir, rootDir: clientSource },
      // rootDir = src/client: importing anything outside it is a compile error (TS6059).
      include: [join(clientSource, '**/*.ts')],
    });
    await compile(join(buildDir, 'tsconfig.build.json'));

    const sources = readdirSync(clientSource).filter((name) => name.endsWith('.ts'));
    const emitted = readdirSync(outDir);
    for (const source of sources) {
      expect(emitted).toContain(source.replace(/\.ts$/, '.js'));
      expect(emitted).toContain(source.replace(/\.ts$/, '.d.ts'));
    }
    for (const file of emitted.filter((name) => name.endsWith('.js') || name.endsWith('.d.ts'))) {
      for (const specifier of importSpecifiers(readFileSync(join(outDir, file), 'utf8'))) {
        expect(specifier, `${file} imports ${specifier}`).toMatch(/^\.\/[a-z-]+\.js$/);
      }
    }
    // What the package's own package.json ("type": "module") gives its dist.
    writeJson(join(outDir, 'package.json'), { type: 'module' });
  });

  it('its declarations type-check a strict consumer without @types/node', async () => {
    writeFileSync(
      join(buildDir, 'consumer.mts'),
      `import { PayconfirmApiError, PayconfirmClient, type PaymentResult } from './dist/index.js';

function summary(result: PaymentResult): string {
  switch (result.status) {
    case 'credited':
    case 'already_credited':
      return result.ledgerEntryId + ' ' + result.amountMinor + ' ' + result.currency;
    case 'pending':
      return result.pollUrl;
    case 'not_payable':
      return result.paymentIntentStatus;
  }
}

const client = new PayconfirmClient({ baseUrl: 'https://payconfirm.example', apiKey: 'pcf_x', retry: { maxAttempts: 3 } });

export async function confirm(id: string, signal: AbortSignal): Promise<string> {
  try {
    return summary(await client.confirmPayment(id, { wait: 30_000, signal }));
  } catch (error) {
    if (error instanceof PayconfirmApiError) return error.code + ' ' + error.httpStatus + ' ' + error.retryAfterMs;
    throw error;
  }
}

// @ts-expect-error wait is a boolean or milliseconds
void client.confirmPayment('pi_1', { wait: 'soon' });
// @ts-expect-error the result is a union: ledgerEntryId exists only once credited
export const notNarrowed = (result: PaymentResult) => result.ledgerEntryId;
`,
    );
    writeJson(join(buildDir, 'tsconfig.consumer.json'), {
      compilerOptions: { ...standaloneOptions, noEmit: true },
      files: ['consumer.mts'],
    });
    await compile(join(buildDir, 'tsconfig.consumer.json'));
  });

  it('runs under plain node against the real API; aborted calls reject at once and leave no timer behind', async () => {
    const c = await newCustomer(ctx, fake);
    const succeeded = newPaymentIntent(fake, c.customerId, { amount: 5_000 });
    const processing = newPaymentIntent(fake, c.customerId, { status: 'processing' });
    writeFileSync(join(buildDir, 'run.mjs'), CHILD_SCRIPT);

    const startedAt = performance.now();
    const child = await run(process.execPath, [join(buildDir, 'run.mjs')], {
      cwd: buildDir,
      // Every client timer in the script is ≥ 60 s: a leaked one would keep node alive past this.
      timeout: 45_000,
      env: {
        PATH: process.env.PATH,
        API_URL: api.url,
        LIMITED_API_URL: limitedApi.url,
        API_KEY: c.apiKey,
        PI_SUCCEEDED: succeeded,
        PI_PROCESSING: processing,
      },
    });
    const childMs = performance.now() - startedAt;
    const report = JSON.parse(child.stdout) as Record<string, any>;

    expect(report.confirmed).toMatchObject({ status: 'credited', paymentIntentId: succeeded, accountId: c.accountId, amountMinor: 5_000 });
    expect(report.balance).toEqual({ accountId: c.accountId, balances: [{ currency: 'usd', amountMinor: 5_000, heldMinor: 0, availableMinor: 5_000 }] });
    for (const abort of [report.abortInFlight, report.abortInBackoff]) {
      expect(abort).toMatchObject({ name: 'AbortError', code: 'aborted', isAbortError: true });
      expect(abort.rejectedAfterMs).toBeLessThan(1_000);
    }
    expect(report.abortInBackoff.answersBeforeAbort).toEqual([[429, '60']]);
    expect(report.armedTimersAtEnd).toBe(0);
    expect(childMs).toBeLessThan(45_000);
    expect((await moneyFor(ctx, fake, succeeded, c.customerId)).ledgerCredits).toHaveLength(1);
    fake.setPaymentIntentStatus(processing, 'canceled'); // lets its workflow end
  });
});

/**
 * Plain ESM for `node`: imports only the built client and node's own async_hooks (to count timers).
 * Prints one JSON report on stdout, then ends by itself once nothing is left to do.
 */
const CHILD_SCRIPT = String.raw`
import { createHook } from 'node:async_hooks';
import { PayconfirmAbortError, PayconfirmClient } from './dist/index.js';

const timers = new Map();
createHook({
  init(asyncId, type, _trigger, resource) { if (type === 'Timeout') timers.set(asyncId, resource); },
  destroy(asyncId) { timers.delete(asyncId); },
}).enable();
const tick = () => new Promise((resolve) => setImmediate(resolve));
/** Timers still armed that keep the process alive (fired and cleared ones are destroyed). */
const armedTimers = async (after = 0) => {
  await tick();
  return [...timers].filter(([id, timer]) => id > after && timer.hasRef()).length;
};
const lastAsyncId = () => Math.max(0, ...timers.keys());

const { API_URL, LIMITED_API_URL, API_KEY, PI_SUCCEEDED, PI_PROCESSING } = process.env;
const clientOf = (baseUrl, fetchImpl) => new PayconfirmClient({ baseUrl, apiKey: API_KEY, timeoutMs: 60_000, random: () => 0, ...(fetchImpl ? { fetch: fetchImpl } : {}) });

async function expectAbort(call, abortWhen) {
  const controller = new AbortController();
  const settled = call(controller.signal).then(
    (value) => ({ resolved: value }),
    (error) => error,
  );
  await abortWhen();
  const abortedAt = performance.now();
  controller.abort();
  const error = await settled;
  return { name: error.name, code: error.code, isAbortError: error instanceof PayconfirmAbortError, rejectedAfterMs: performance.now() - abortedAt };
}

const report = {};
const client = clientOf(API_URL);
report.confirmed = await client.confirmPayment(PI_SUCCEEDED, { timeoutMs: 60_000 });
report.balance = await client.getBalance();

// 1. While the request is on the wire (the server holds it up to 10 s for a processing payment).
let requestStarted;
const started = new Promise((resolve) => (requestStarted = resolve));
const inFlight = clientOf(API_URL, (input, init) => (requestStarted(), fetch(input, init)));
report.abortInFlight = await expectAbort((signal) => inFlight.confirmPayment(PI_PROCESSING, { signal, wait: true, timeoutMs: 60_000 }), () => started);

// 2. While sleeping on a 429's Retry-After (1 confirm a minute: spend it, then ask again).
await fetch(LIMITED_API_URL + '/billing/confirm_payment', {
  method: 'POST',
  headers: { authorization: 'Bearer ' + API_KEY, 'content-type': 'application/json' },
  body: '{}',
}).then((response) => response.text());
const answers = [];
let markAfterAnswer = Infinity;
const limited = clientOf(LIMITED_API_URL, async (input, init) => {
  const response = await fetch(input, init);
  answers.push([response.status, response.headers.get('retry-after')]);
  markAfterAnswer = lastAsyncId();
  return response;
});
report.abortInBackoff = await expectAbort(
  (signal) => limited.confirmPayment(PI_SUCCEEDED, { signal }),
  async () => { while ((await armedTimers(markAfterAnswer)) === 0) await tick(); }, // the backoff timer is armed
);
report.abortInBackoff.answersBeforeAbort = answers;

report.armedTimersAtEnd = await armedTimers();
process.stdout.write(JSON.stringify(report));
`;
