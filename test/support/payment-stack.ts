import { startFakeStripe, type FakeStripe } from './fake-stripe/index.js';
import { startTestApi, type TestApi } from './test-api.js';
import { createTestContext, startTestWorkers, stripeClientFor, type RunningWorkers, type TestContext } from './test-context.js';

/** The usual integration setup: own schema and task queue, a fake Stripe, payconfirm's real workers and API. */
export interface PaymentStack {
  ctx: TestContext;
  fake: FakeStripe;
  workers: RunningWorkers;
  api: TestApi;
  /** Stops everything it started, in reverse order. */
  close(): Promise<void>;
}

export async function startPaymentStack(label: string, apiOptions: Omit<Parameters<typeof startTestApi>[1], 'stripe'> = {}): Promise<PaymentStack> {
  const ctx = await createTestContext(label);
  const fake = await startFakeStripe();
  const workers = await startTestWorkers(ctx, { stripe: stripeClientFor(fake.url) });
  const api = await startTestApi(ctx, { ...apiOptions, stripe: stripeClientFor(fake.url) });
  return {
    ctx,
    fake,
    workers,
    api,
    async close() {
      await api.close();
      await workers.stop();
      await fake.close();
      await ctx.close();
    },
  };
}
