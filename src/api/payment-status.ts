import { WorkflowNotFoundError } from '@temporalio/common';
import type { Account } from '../db/accounts.js';
import { findPaymentCredit } from '../db/ledger.js';
import { loadPaymentBooks } from '../db/payment-books.js';
import { planPayment } from '../domain/payment-plan.js';
import type { PaymentHandle } from '../temporal/payment-workflow-client.js';
import type { ApiDeps } from './api-deps.js';
import { answerFromWorkflow } from './confirm-payment.js';
import { creditedAnswer, notEligibleAnswer, notPayableAnswer, pendingAnswer, rejectedAnswer, type PaymentAnswer } from './payment-answers.js';
import { loadOwnedPaymentTruth, ownsPayment, strangerError } from './payment-lookup.js';
import { withTemporal } from './temporal-calls.js';

/**
 * GET /billing/payments/:id — where a payment stands, without starting anything. A caller who does not own
 * the payment gets 404, the same answer as for a PaymentIntent that does not exist.
 */
export async function paymentStatus(deps: ApiDeps, account: Account, paymentIntentId: string): Promise<PaymentAnswer> {
  const books = await loadPaymentBooks(deps.pool, paymentIntentId);
  if (books.accountOfRecord) {
    if (!ownsPayment(account, books, null)) throw strangerError(paymentIntentId, 404);
    const entry = await findPaymentCredit(deps.pool, paymentIntentId);
    if (entry) return creditedAnswer(entry, 'credited');
  }
  const { truth } = await loadOwnedPaymentTruth(deps.stripe, account, books, 404);
  const handle: PaymentHandle = deps.temporal.client.workflow.getHandle(paymentIntentId);
  const running = await withTemporal(deps, async () => {
    try {
      return (await handle.describe()).status.name === 'RUNNING';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
  });
  if (running === null) {
    const plan = planPayment(truth, books, deps.settings.moneyPolicy);
    if (plan.kind === 'rejected') return rejectedAnswer(paymentIntentId, plan.reason);
    if (plan.kind === 'not_eligible') return notEligibleAnswer(paymentIntentId, plan.why, 200);
    if (plan.kind === 'not_payable') return notPayableAnswer(paymentIntentId, plan.status, 200);
    return pendingAnswer(paymentIntentId, { stage: plan.kind === 'wait_for_payment' ? 'awaiting_payment' : 'loading', attention: null });
  }
  return answerFromWorkflow(deps, handle, running ? 0 : 2_000, 200);
}
