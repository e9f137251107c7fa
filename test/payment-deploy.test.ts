import { bundleWorkflowCode } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOrAttachPayment } from '../src/temporal/payment-workflow-client.js';
import { paymentStateQuery } from '../workflows/payment-messages.js';
import { startFakeStripe, type FakeStripe } from './support/fake-stripe/index.js';
import { eventually } from './support/eventually.js';
import { completedPassesOf, countEvents, patchIdsOf } from './support/history-events.js';
import { ledgerOf, movementsOf, paymentSettles } from './support/payment-books.js';
import { moneyFor, newCustomer, newPaymentIntent } from './support/payment-fixtures.js';
import { paymentStarter } from './support/payment-probes.js';
import { createTestContext, startTestWorkers, stripeClientFor, type RunningWorkers, type TestContext } from './support/test-context.js';

/**
 * A deploy of the release that runs the payment's pass as a local activity (patch `converge-in-local-activity`),
 * with payments in flight: workers of the previous release (its bundle: test/support/workflow-changes/
 * before-local-activity.ts) start them, stop, and the new release's workers finish them. Each finishes once: what
 * its history holds replays on the old path, what comes after takes the new one; a payment started after the
 * deploy takes the new one from its first pass.
 */
const PATCH = 'converge-in-local-activity';

let ctx: TestContext;
let fake: FakeStripe;
let previousRelease: { code: string };
let running: RunningWorkers | undefined;

beforeAll(async () => {
  ctx = await createTestContext('payment_deploy');
  fake = await startFakeStripe();
  const { code } = await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('../workflows/index.ts', import.meta.url)),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
    webpackConfigHook: (config) => ({
      ...config,
      resolve: {
        ...config.resolve,
        alias: { ...(config.resolve?.alias as object), '@temporalio/workflow$': fileURLToPath(new URL('./support/workflow-changes/before-local-activity.ts', import.meta.url)) },
      },
    }),
  });
  previousRelease = { code };
});
afterAll(async () => {
  await running?.stop();
  await fake?.close();
  await ctx?.close();
});

const stageOf = (pi: string) => ctx.client.workflow.getHandle(pi).query(paymentStateQuery).then((s) => s.stage);

describe('deploying the local-activity pass with payments in flight', () => {
  it('a payment the previous release started (waiting for its money) finishes once under the new release', async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { status: 'processing', amount: 1_700 });

    running = await startTestWorkers(ctx, { stripe: stripeClientFor(fake.url), workflowBundle: previousRelease });
    const result = (await startOrAttachPayment(paymentStarter(ctx), pi, `deploy ${pi}`)).result();
    await eventually(() => stageOf(pi), (stage) => stage === 'awaiting_payment', { description: 'first pass done, waiting for the money' });
    await running.stop(); // the deploy: the previous release's workers go away between two passes
    running = await startTestWorkers(ctx, { stripe: stripeClientFor(fake.url) });

    fake.setPaymentIntentStatus(pi, 'succeeded'); // the workflow's own re-read finds it
    expect(await result).toMatchObject({ status: 'credited', amountMinor: 1_700 });
    await paymentSettles(ctx, pi);

    const money = await moneyFor(ctx, fake, pi, c.customerId);
    expect(money.ledgerCredits).toHaveLength(1);
    expect(money.stripeCredits).toHaveLength(1);
    const history = await ctx.client.workflow.getHandle(pi).fetchHistory();
    // Its first pass is in its history as an activity, and replays as one; the new release's first live pass records
    // the patch and from there the run takes the local activity: one history, both paths, no non-determinism.
    expect(countEvents(history, 'ACTIVITY_TASK_COMPLETED')).toBe(1);
    expect(patchIdsOf(history).filter((id) => id === PATCH)).toHaveLength(1);
    expect(completedPassesOf(history)).toBeGreaterThanOrEqual(2);
    expect(countEvents(history, 'WORKFLOW_TASK_FAILED')).toBe(0);
  });

  it('a payment started after the deploy runs its pass as a local activity, once', async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { amount: 900 });
    expect(await (await startOrAttachPayment(paymentStarter(ctx), pi, `after deploy ${pi}`)).result()).toMatchObject({ status: 'credited', amountMinor: 900 });
    const history = await ctx.client.workflow.getHandle(pi).fetchHistory();
    expect(patchIdsOf(history)).toEqual([PATCH]);
    expect(countEvents(history, 'ACTIVITY_TASK_SCHEDULED')).toBe(0);
    expect(completedPassesOf(history)).toBe(1);
    expect(movementsOf(await ledgerOf(ctx, pi))).toEqual([['payment_credit', 900]]);
  });
});
