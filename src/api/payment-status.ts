import { WorkflowNotFoundError } from '@temporalio/common';
import type { Account } from '../db/accounts.js';
import { findPaymentCredit } from '../db/ledger.js';
import { decidePayment } from '../domain/payment.js';
import type { PaymentHandle } from '../temporal/payment-workflow-client.js';
import type { ApiDeps } from './api-deps.js';
import { answerFromWorkflow } from './confirm-payment.js';
import { forbidden } from './http-errors.js';
import { creditedAnswer, notPayableAnswer, pendingAnswer, type PaymentAnswer } from './payment-answers.js';
import { loadOwnedPaymentIntent } from './payment-lookup.js';
import { withTemporal } from './temporal-calls.js';

/** GET /billing/payments/:id — where a payment stands, without starting anything. */
export async function paymentStatus(deps: ApiDeps, account: Account, paymentIntentId: string): Promise<PaymentAnswer> {
  const entry = await findPaymentCredit(deps.pool, paymentIntentId);
  if (entry) {
    if (entry.accountId !== account.id) throw forbidden(`PaymentIntent ${paymentIntentId} was credited to another account`);
    return creditedAnswer(entry, 'credited');
  }
  const snapshot = await loadOwnedPaymentIntent(deps.stripe, account, paymentIntentId);
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
    const verdict = decidePayment(snapshot);
    return verdict.kind === 'not_payable'
      ? notPayableAnswer(paymentIntentId, verdict.status, 200)
      : pendingAnswer(paymentIntentId, { stage: verdict.kind === 'wait_for_payment' ? 'awaiting_payment' : 'loading', attention: null });
  }
  return answerFromWorkflow(deps, handle, running ? 0 : 2_000, 200);
}
