import { WorkflowFailedError } from '@temporalio/client';
import type { Account } from '../db/accounts.js';
import { loadPaymentBooks } from '../db/payment-books.js';
import { isMarkedCredited } from '../domain/credit-mark.js';
import type { PaymentOutcome, PaymentState } from '../domain/payment.js';
import { creditOf, planPayment } from '../domain/payment-plan.js';
import { startOrAttachPayment, type PaymentHandle } from '../temporal/payment-workflow-client.js';
import { paymentStateQuery } from '../../workflows/payment-messages.js';
import type { ApiDeps } from './api-deps.js';
import { HttpError } from './http-errors.js';
import { creditedAnswer, notEligibleAnswer, notPayableAnswer, outcomeAnswer, pendingAnswer, rejectedAnswer, type PaymentAnswer } from './payment-answers.js';
import { loadOwnedPaymentTruth } from './payment-lookup.js';
import { TemporalDeadlineError, withTemporal } from './temporal-calls.js';

/**
 * POST /billing/confirm_payment.
 *
 * 1. Read the books (Postgres) and the PaymentIntent (Stripe): 404 unknown or not the caller's (one answer, and a
 *    stranger to a credited payment is answered from the books, with no Stripe read).
 * 2. Fully done already (ledger credit + payconfirm's own mark on the PaymentIntent): `already_credited`.
 * 3. `planPayment` — the one decision function the workflow uses — on what is known: an operator's reject
 *    stands (409 payment_rejected), no credit purchase (409 not_eligible), cannot succeed (409 not_payable).
 * 4. Otherwise start the payment workflow or attach to the running one (workflow id = PaymentIntent id),
 *    wait a bounded time for its result: `credited` / `already_credited` / 202 `pending` / 409.
 * Any number of concurrent callers land on one execution and read the same ledger entry.
 */
export async function confirmPayment(deps: ApiDeps, account: Account, paymentIntentId: string): Promise<PaymentAnswer> {
  const books = await loadPaymentBooks(deps.pool, paymentIntentId);
  const fresh = await loadOwnedPaymentTruth(deps, account, books);
  const existing = creditOf(books);
  if (existing && isMarkedCredited(fresh.truth.paymentIntent.metadata)) {
    deps.metrics.duplicatesStopped.inc({ guard: 'ledger_key' });
    return creditedAnswer(existing, 'already_credited');
  }
  const plan = planPayment(fresh.truth, books, deps.settings.moneyPolicy);
  if (plan.kind === 'rejected') return rejectedAnswer(paymentIntentId);
  if (plan.kind === 'not_eligible') return notEligibleAnswer(paymentIntentId, plan.why, 409);
  if (plan.kind === 'not_payable') return notPayableAnswer(paymentIntentId, plan.status, 409);

  // The workflow's first pass uses this read instead of its own: one Stripe GET per confirmed payment, not two.
  const started = process.hrtime.bigint();
  let handle: PaymentHandle;
  try {
    handle = await withTemporal(deps, () =>
      startOrAttachPayment(deps.payments, paymentIntentId, `Confirm ${paymentIntentId} for account ${account.id}`, fresh),
    );
  } catch (err) {
    // Busy, not down: the start may well have happened. The caller polls, or confirms again (same workflow id).
    if (err instanceof TemporalDeadlineError) return pendingAnswer(paymentIntentId, { stage: 'loading', attention: null }, 2, 'workflow_service_busy');
    throw err;
  }
  deps.metrics.workflowStartSeconds.observe({ workflow: 'payment' }, Number(process.hrtime.bigint() - started) / 1e9);
  return answerFromWorkflow(deps, handle, deps.settings.confirmWaitMs, 409);
}

/** Waits up to `waitMs` for the workflow's outcome; a payment still under way answers 202 with its stage. */
export async function answerFromWorkflow(deps: ApiDeps, handle: PaymentHandle, waitMs: number, notPayableStatus: 200 | 409): Promise<PaymentAnswer> {
  const outcome = await resultWithin(deps, handle, waitMs);
  if (!outcome) {
    const state = await withTemporal(deps, () => handle.query(paymentStateQuery)).catch((err: unknown) => {
      if (err instanceof HttpError && !(err instanceof TemporalDeadlineError)) throw err;
      return null; // not yet queryable (no workflow task run yet), or Temporal too busy to answer in time
    });
    return pendingAnswer(handle.workflowId, state);
  }
  if (outcome.status !== 'credited') return outcomeAnswer(outcome, notPayableStatus);
  // The outcome names the ledger entry its activity read back after writing it: no second read of the ledger.
  return creditedAnswer(outcome, outcome.ledgerEntryCreated ? 'credited' : 'already_credited');
}

async function resultWithin(deps: ApiDeps, handle: PaymentHandle, waitMs: number): Promise<PaymentOutcome | null> {
  if (waitMs <= 0) return null;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), waitMs);
  try {
    return await deps.temporal.connection.withAbortSignal(abort.signal, () => handle.result());
  } catch (err) {
    if (abort.signal.aborted) return null;
    // Terminated or failed run: the next confirm starts a new run, which converges through the ledger key
    // and Stripe lookups — so tell the caller to retry.
    if (err instanceof WorkflowFailedError) {
      throw new HttpError(503, 'payment_workflow_restarting', 'the payment workflow ended abnormally; retry to resume it', { 'Retry-After': '1' });
    }
    return withTemporal(deps, () => Promise.reject(err));
  } finally {
    clearTimeout(timer);
  }
}

export type { PaymentState };
