import type { LedgerEntry } from '../db/ledger.js';
import type { PaymentOutcome, PaymentState } from '../domain/payment.js';

/** The wire shapes of a payment answer (snake_case), shared by confirm_payment and GET /billing/payments/:id. */
export interface PaymentAnswer {
  httpStatus: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

export const pollUrlFor = (paymentIntentId: string): string => `/billing/payments/${paymentIntentId}`;

export function creditedAnswer(entry: LedgerEntry, status: 'credited' | 'already_credited'): PaymentAnswer {
  return {
    httpStatus: 200,
    headers: {},
    body: {
      status,
      payment_intent_id: entry.paymentIntentId,
      account_id: entry.accountId,
      ledger_entry_id: entry.id,
      amount_minor: entry.amountMinor,
      currency: entry.currency,
      credited_at: entry.createdAt.toISOString(),
    },
  };
}

export function pendingAnswer(paymentIntentId: string, state: Pick<PaymentState, 'stage' | 'attention'> | null, retryAfterSeconds = 2): PaymentAnswer {
  const pollUrl = pollUrlFor(paymentIntentId);
  return {
    httpStatus: 202,
    headers: { Location: pollUrl, 'Retry-After': String(retryAfterSeconds) },
    body: {
      status: 'pending',
      payment_intent_id: paymentIntentId,
      stage: state?.stage ?? 'loading',
      reason: state?.attention ? `${state.attention.reason}: ${state.attention.detail}` : null,
      poll_url: pollUrl,
    },
  };
}

/** confirm answers not_payable with 409 (the request cannot succeed); a GET reports it with 200. */
export function notPayableAnswer(paymentIntentId: string, paymentIntentStatus: string, httpStatus: 200 | 409): PaymentAnswer {
  return {
    httpStatus,
    headers: {},
    body: {
      status: 'not_payable',
      payment_intent_id: paymentIntentId,
      payment_intent_status: paymentIntentStatus,
      ...(httpStatus === 409
        ? { error: { code: 'not_payable', message: `the PaymentIntent is ${paymentIntentStatus}; it cannot be credited` } }
        : {}),
    },
  };
}

export function rejectedAnswer(paymentIntentId: string, reason: string): PaymentAnswer {
  return {
    httpStatus: 409,
    headers: {},
    body: {
      status: 'rejected',
      payment_intent_id: paymentIntentId,
      error: { code: 'payment_rejected', message: `an operator rejected this payment: ${reason}` },
    },
  };
}

/** A finished workflow's outcome as an answer; `credited` needs the ledger entry it names. */
export function outcomeAnswer(outcome: Exclude<PaymentOutcome, { status: 'credited' }>, notPayableStatus: 200 | 409): PaymentAnswer {
  return outcome.status === 'not_payable'
    ? notPayableAnswer(outcome.paymentIntentId, outcome.paymentIntentStatus, notPayableStatus)
    : rejectedAnswer(outcome.paymentIntentId, outcome.reason);
}
