import { sleep } from '@temporalio/workflow';
import type { PaymentOutcome } from '../../../src/domain/payment.js';
import type { PaymentWorkflowInput } from '../../../workflows/payment-workflow-input.js';
import { paymentWorkflow as currentPaymentWorkflow } from '../../../workflows/payment-workflow.js';

/**
 * A deliberately unsafe change, for test/workflow-replay.test.ts: the payment workflow with one extra step (a timer)
 * before the real one, made WITHOUT a patch. A run recorded before it replays as a different sequence of commands,
 * so replaying any recorded history must fail with a DeterminismViolationError.
 */
export async function paymentWorkflow(input: PaymentWorkflowInput): Promise<PaymentOutcome> {
  await sleep('1 millisecond');
  return await currentPaymentWorkflow(input);
}
