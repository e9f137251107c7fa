import type { AttentionReason, PaymentOutcome, PaymentState } from '../../src/domain/payment.js';
import { startOrAttachPayment, type PaymentHandle } from '../../src/temporal/payment-workflow-client.js';
import { queryPaymentState } from '../../src/temporal/payment-operations.js';
import { eventually } from './eventually.js';
import { TEST_TUNING, type TestContext } from './test-context.js';

/** Starts (or attaches to) the payment workflow of `paymentIntentId` on the context's task queue, as the API does. */
export const startPayment = (ctx: TestContext, paymentIntentId: string): Promise<PaymentHandle> =>
  startOrAttachPayment({ client: ctx.client, taskQueue: ctx.taskQueue, tuning: TEST_TUNING }, paymentIntentId, `test ${paymentIntentId}`);

/** Waits until the payment waits in needs_attention (with `reason`, when given) and returns its state. */
export function waitForAttention(ctx: TestContext, paymentIntentId: string, reason?: AttentionReason, opts: { notSince?: string } = {}): Promise<PaymentState> {
  return eventually(
    () => queryPaymentState(ctx.client, paymentIntentId),
    (s) => s.stage === 'needs_attention' && (!reason || s.attention?.reason === reason) && s.attention?.since !== opts.notSince,
    { description: `${paymentIntentId} in needs_attention${reason ? ` (${reason})` : ''}` },
  );
}

export const outcomeOf = (ctx: TestContext, paymentIntentId: string): Promise<PaymentOutcome> =>
  ctx.client.workflow.getHandle<(input: unknown) => Promise<PaymentOutcome>>(paymentIntentId).result();

/** Terminates whatever still runs on the context's task queue (payments left stuck on purpose). */
export async function terminateRunning(ctx: TestContext): Promise<void> {
  const query = `ExecutionStatus="Running" AND TaskQueue="${ctx.taskQueue}"`;
  for await (const w of ctx.client.workflow.list({ query })) {
    await ctx.client.workflow.getHandle(w.workflowId, w.runId).terminate('test finished').catch(() => {});
  }
}
