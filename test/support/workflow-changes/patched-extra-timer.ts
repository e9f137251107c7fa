import { patched, sleep } from '@temporalio/workflow';
import type { PaymentOutcome } from '../../../src/domain/payment.js';
import type { PaymentWorkflowInput } from '../../../workflows/payment-workflow-input.js';
import { paymentWorkflow as currentPaymentWorkflow } from '../../../workflows/payment-workflow.js';

/** The patch id of the change below: runs that recorded it take the new step, older ones do not. */
export const EXTRA_TIMER_PATCH = 'replay-test-extra-timer';

/**
 * The same change as unpatched-extra-timer.ts, made safely: behind `patched()`. A run recorded before the change has
 * no marker for it, so its replay skips the new step and every recorded history replays unchanged.
 */
export async function paymentWorkflow(input: PaymentWorkflowInput): Promise<PaymentOutcome> {
  if (patched(EXTRA_TIMER_PATCH)) await sleep('1 millisecond');
  return await currentPaymentWorkflow(input);
}
