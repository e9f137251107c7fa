import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CHROMIUM_HEADLESS_ARGS, ensureChromium } from '../src/dev/chromium.js';
import { projectRoot } from '../src/runtime/project-paths.js';
import { PaymentStageKey } from '../src/temporal/search-attributes.js';
import { startOrAttachPayment, type PaymentHandle } from '../src/temporal/payment-workflow-client.js';
import { startFakeStripe, type FakeStripe } from './support/fake-stripe/index.js';
import { eventually } from './support/eventually.js';
import { newPaymentIntent } from './support/payment-fixtures.js';
import { createTestContext, startTestWorkers, stripeClientFor, TEST_TUNING, type RunningWorkers, type TestContext } from './support/test-context.js';

/**
 * An operator's path through the real Temporal Web UI, in Debian's Chromium driven by playwright-core:
 * list stuck payments with `PaymentStage="needs_attention"`, open one, read its stage and reason.
 * The screenshot it takes is the one docs/operating.md shows (docs/temporal-ui-stuck-payment.png).
 */
const uiUrl = inject('temporalUiUrl');
const SCREENSHOT = join(projectRoot(), 'docs', 'temporal-ui-stuck-payment.png');
const STUCK_QUERY = 'PaymentStage="needs_attention" AND ExecutionStatus="Running"';

let ctx: TestContext;
let fake: FakeStripe;
let workers: RunningWorkers;
let browser: BrowserContext;
let profileDir: string;
let stuck: PaymentHandle;
let customerId: string;

beforeAll(async () => {
  if (!uiUrl) throw new Error('the run has no Temporal Web UI (TEMPORAL_UI_URL unset while TEMPORAL_ADDRESS is set)');
  ctx = await createTestContext('temporal-ui');
  fake = await startFakeStripe();
  workers = await startTestWorkers(ctx, { stripe: stripeClientFor(fake.url) });
  profileDir = mkdtempSync(join(tmpdir(), 'payconfirm-chromium-'));
  browser = await chromium.launchPersistentContext(profileDir, {
    executablePath: await ensureChromium(),
    args: CHROMIUM_HEADLESS_ARGS,
    headless: true,
    viewport: { width: 1440, height: 900 },
    timezoneId: 'UTC',
  });
  // A payment whose Stripe customer no payconfirm account is linked to: it waits for an operator.
  customerId = fake.createCustomer().id;
  const pi = newPaymentIntent(fake, customerId, { amount: 12_500, currency: 'eur' });
  stuck = await startOrAttachPayment({ client: ctx.client, taskQueue: ctx.taskQueue, tuning: TEST_TUNING }, pi, `Payment ${pi} of Stripe customer ${customerId}`);
  await eventually(
    async () => (await stuck.describe()).typedSearchAttributes.get(PaymentStageKey),
    (stage) => stage === 'needs_attention',
    { description: 'the payment waits in needs_attention' },
  );
});

afterAll(async () => {
  await browser?.close();
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  await stuck?.terminate('browser test finished').catch(() => {});
  await workers?.stop();
  await fake?.close();
  await ctx?.close();
});

const workflowsPage = (query: string) => `${uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`;

/** The list is fed by visibility, which trails the workflow by a moment: reload until the row shows. */
async function openStuckList(page: Page, workflowId: string) {
  const row = page.getByRole('link', { name: workflowId, exact: true });
  await eventually(
    async () => {
      await page.goto(workflowsPage(STUCK_QUERY));
      await page.getByText('needs_attention').first().waitFor({ timeout: 10_000 });
      return row.waitFor({ timeout: 2_000 }).then(() => true);
    },
    (shown) => shown,
    { timeoutMs: 30_000, intervalMs: 250, description: `row ${workflowId} in the stuck-payments list` },
  );
  return row;
}

describe('Temporal Web UI: finding and reading a stuck payment', () => {
  it('lists it under PaymentStage="needs_attention", opens it, shows stage, reason and operator actions', async () => {
    const page = await browser.newPage();
    const row = await openStuckList(page, stuck.workflowId);
    await row.click();
    await page.waitForURL(new RegExp(`/workflows/${stuck.workflowId}/`));

    // The User Metadata tab: the static summary and the current details the workflow keeps up to date.
    // The UI renders each markdown text in its own frame (/render?content=…).
    await page.getByText('User Metadata', { exact: true }).click();
    await page.waitForURL(/\/user-metadata$/);
    const summary = page.frameLocator('iframe[src*="content=Payment%20"]');
    await summary.getByText(`Payment ${stuck.workflowId} of Stripe customer ${customerId}`).waitFor();
    const details = page.frameLocator('iframe[src*="needs_attention"]');
    await details.getByText('no_account_for_customer').waitFor();
    const detailsText = await details.locator('body').innerText();
    expect(detailsText).toMatch(/Stage:\s*needs_attention/);
    expect(detailsText).toMatch(/Needs attention:\s*no_account_for_customer/);
    expect(detailsText).toContain(`no payconfirm account is linked to Stripe customer ${customerId}`);
    for (const action of ['retry', 'resolve', 'reject']) expect(detailsText).toContain(action);

    mkdirSync(join(projectRoot(), 'docs'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });
});
