import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowMetadataQuery } from '@temporalio/workflow';
import {
  AccountIdKey,
  AmountMinorKey,
  PaymentIntentIdKey,
  PaymentStageKey,
  StripeCustomerIdKey,
} from '../src/temporal/search-attributes.js';
import { startOrAttachPayment, type PaymentHandle } from '../src/temporal/payment-workflow-client.js';
import { startFakeStripe, type FakeStripe } from './support/fake-stripe/index.js';
import { eventually } from './support/eventually.js';
import { newCustomer, newPaymentIntent } from './support/payment-fixtures.js';
import { createTestContext, startTestWorkers, stripeClientFor, TEST_TUNING, type RunningWorkers, type TestContext } from './support/test-context.js';

let ctx: TestContext;
let fake: FakeStripe;
let workers: RunningWorkers;
const stuck: PaymentHandle[] = [];

beforeAll(async () => {
  ctx = await createTestContext('search-attrs');
  fake = await startFakeStripe();
  workers = await startTestWorkers(ctx, { stripe: stripeClientFor(fake.url) });
});
afterAll(async () => {
  await Promise.allSettled(stuck.map((h) => h.terminate('test finished')));
  await workers?.stop();
  await fake?.close();
  await ctx?.close();
});

const starter = () => ({ client: ctx.client, taskQueue: ctx.taskQueue, tuning: TEST_TUNING });

/** Operators read these in the Temporal UI and with `temporal workflow list --query …`. */
describe('payment workflows carry typed search attributes, a static summary and current details', () => {
  it('a credited payment: every attribute set and upserted as the stage moved', async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { amount: 7_350, currency: 'eur' });
    const handle = await startOrAttachPayment(starter(), pi, `Confirm ${pi} for account ${c.accountId}`);
    expect(await handle.result()).toMatchObject({ status: 'credited' });

    const description = await handle.describe();
    const attrs = description.typedSearchAttributes;
    expect(attrs.get(PaymentIntentIdKey)).toBe(pi);
    expect(attrs.get(PaymentStageKey)).toBe('credited');
    expect(attrs.get(StripeCustomerIdKey)).toBe(c.customerId);
    expect(attrs.get(AccountIdKey)).toBe(c.accountId);
    expect(attrs.get(AmountMinorKey)).toBe(7_350);
    expect(await description.staticSummary()).toBe(`Confirm ${pi} for account ${c.accountId}`);

    // Visibility finds it by the same attributes operators type in the UI.
    const found = await eventually(
      async () => {
        const ids: string[] = [];
        for await (const w of ctx.client.workflow.list({ query: `PaymentStage = "credited" AND StripeCustomerId = "${c.customerId}" AND AmountMinor = 7350` })) {
          ids.push(w.workflowId);
        }
        return ids;
      },
      (ids) => ids.length > 0,
      { description: 'visibility lists the credited payment' },
    );
    expect(found).toEqual([pi]);
  });

  it('a stuck payment: PaymentStage="needs_attention" finds it; its current details say why and what to do', async () => {
    const customer = fake.createCustomer(); // a Stripe customer no payconfirm account is linked to
    const pi = newPaymentIntent(fake, customer.id, { amount: 1_999 });
    const handle = await startOrAttachPayment(starter(), pi, `Payment ${pi}`);
    stuck.push(handle);

    const attrs = await eventually(
      async () => (await handle.describe()).typedSearchAttributes,
      (a) => a.get(PaymentStageKey) === 'needs_attention',
      { description: 'payment reaches needs_attention' },
    );
    expect(attrs.get(PaymentIntentIdKey)).toBe(pi);
    expect(attrs.get(StripeCustomerIdKey)).toBe(customer.id);
    expect(attrs.get(AmountMinorKey)).toBe(1_999);
    expect(attrs.get(AccountIdKey)).toBeUndefined();

    // What the UI shows as "Current Details" (the SDK's built-in metadata query).
    const metadata = await handle.query(workflowMetadataQuery);
    expect(metadata.currentDetails).toContain('needs_attention');
    expect(metadata.currentDetails).toContain('no_account_for_customer');
    expect(metadata.currentDetails).toContain(customer.id);
    expect(metadata.currentDetails).toMatch(/retry.*resolve.*reject/s);

    const listed = await eventually(
      async () => {
        const ids: string[] = [];
        for await (const w of ctx.client.workflow.list({ query: `PaymentStage = "needs_attention" AND PaymentIntentId = "${pi}"` })) ids.push(w.workflowId);
        return ids;
      },
      (ids) => ids.length > 0,
      { description: 'visibility lists the stuck payment' },
    );
    expect(listed).toEqual([pi]);
  });
});
