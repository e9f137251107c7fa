import { WorkflowNotFoundError } from '@temporalio/common';
import type { Account } from '../db/accounts.js';
import { loadPaymentBooks } from '../db/payment-books.js';
import type { PaymentState } from '../domain/payment.js';
import { creditOf, planPayment } from '../domain/payment-plan.js';
import type { PaymentHandle } from '../temporal/payment-workflow-client.js';
import { paymentStateQuery } from '../../workflows/payment-messages.js';
import type { ApiDeps } from './api-deps.js';
import { answerFromWorkflow } from './confirm-payment.js';
import { creditedAnswer, notEligibleAnswer, notPayableAnswer, pendingAnswer, rejectedAnswer, type PaymentAnswer } from './payment-answers.js';
import { loadOwnedPaymentTruth, ownsPayment, strangerError } from './payment-lookup.js';
import { withTemporal } from './temporal-calls.js';

/**
 * GET /billing/payments/:id — where a payment stands, without starting anything, and without asking Stripe when
 * the books or the payment's workflow can answer: a credited payment from the ledger; a running one from its
 * workflow's `state` (its own fresh read says whose it is). Only a payment neither knows costs a Stripe read,
 * within the API's read budget. A caller who does not own the payment gets 404, as for one that does not exist.
 */
export async function paymentStatus(deps: ApiDeps, account: Account, paymentIntentId: string): Promise<PaymentAnswer> {
  const books = await loadPaymentBooks(deps.pool, paymentIntentId);
  const credit = creditOf(books);
  if (credit) {
    if (!ownsPayment(account, books, null)) throw strangerError(paymentIntentId);
    return creditedAnswer(credit, 'credited');
  }
  const handle: PaymentHandle = deps.temporal.client.workflow.getHandle(paymentIntentId);
  const run = await withTemporal(deps, async () => {
    try {
      const status = (await handle.describe()).status.name;
      if (status !== 'RUNNING') return { status, state: null };
      return { status, state: await handle.query(paymentStateQuery).catch((): PaymentState | null => null) };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
  });
  if (run?.state?.customerId) {
    if (!ownsPayment(account, books, run.state.customerId)) throw strangerError(paymentIntentId);
    return run.state.outcome ? answerFromWorkflow(deps, handle, 2_000, 200) : pendingAnswer(paymentIntentId, run.state);
  }
  const { truth } = await loadOwnedPaymentTruth(deps, account, books);
  if (run === null) {
    const plan = planPayment(truth, books, deps.settings.moneyPolicy);
    if (plan.kind === 'rejected') return rejectedAnswer(paymentIntentId);
    if (plan.kind === 'not_eligible') return notEligibleAnswer(paymentIntentId, plan.why, 200);
    if (plan.kind === 'not_payable') return notPayableAnswer(paymentIntentId, plan.status, 200);
    return pendingAnswer(paymentIntentId, { stage: plan.kind === 'wait_for_payment' ? 'awaiting_payment' : 'loading', attention: null });
  }
  return answerFromWorkflow(deps, handle, run.status === 'RUNNING' ? 0 : 2_000, 200);
}
