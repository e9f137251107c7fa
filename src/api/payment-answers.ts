import type { CreditFacts } from '../domain/payment-plan.js';
import type { PaymentOutcome, PaymentState } from '../domain/payment.js';

/** The wire shapes of a payment answer (snake_case), shared by confirm_payment and GET /billing/payments/:id. */
export interface PaymentAnswer {
  httpStatus: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

export const pollUrlFor = (paymentIntentId: string): string => `/billing/payments/${paymentIntentId}`;

/** A credit, from the payment's books or its workflow's outcome (the same facts either way). */
export function creditedAnswer(credit: CreditFacts, status: 'credited' | 'already_credited'): PaymentAnswer {
  return {
    httpStatus: 200,
    headers: {},
    body: {
      status,
      payment_intent_id: credit.paymentIntentId,
      account_id: credit.accountId,
      ledger_entry_id: credit.ledgerEntryId,
      amount_minor: credit.amountMinor,
      currency: credit.currency,
      credited_at: credit.creditedAt,
    },
  };
}

/**
 * 202 pending. `reason`: why it waits for payconfirm's operators (a code), or why the answer could not be had
 * (`workflow_service_busy`); the operators' detail never leaves the service.
 */
export function pendingAnswer(
  paymentIntentId: string,
  state: Pick<PaymentState, 'stage' | 'attention'> | null,
  retryAfterSeconds = 2,
  reason: string | null = null,
): PaymentAnswer {
  const pollUrl = pollUrlFor(paymentIntentId);
  return {
    httpStatus: 202,
    headers: { Location: pollUrl, 'Retry-After': String(retryAfterSeconds) },
    body: {
      status: 'pending',
      payment_intent_id: paymentIntentId,
      stage: state?.stage ?? 'loading',
      // A code only: the detail names hosts, other accounts and Stripe ids that are for operators, not callers.
      reason: state?.attention?.reason ?? reason,
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

/** An operator rejected the payment: the caller hears the code; the operator's reason stays with the operators. */
export function rejectedAnswer(paymentIntentId: string): PaymentAnswer {
  return {
    httpStatus: 409,
    headers: {},
    body: {
      status: 'rejected',
      payment_intent_id: paymentIntentId,
      error: { code: 'payment_rejected', message: 'this payment was rejected by the service operators; contact support' },
    },
  };
}

/** The PaymentIntent is no credit purchase (CREDIT_PAYMENT_INTENTS): confirm answers 409, a GET 200. */
export function notEligibleAnswer(paymentIntentId: string, why: string, httpStatus: 200 | 409): PaymentAnswer {
  return {
    httpStatus,
    headers: {},
    body: {
      status: 'not_eligible',
      payment_intent_id: paymentIntentId,
      ...(httpStatus === 409 ? { error: { code: 'not_eligible', message: `this PaymentIntent is not a credit purchase: ${why}` } } : {}),
    },
  };
}

/** A finished workflow's outcome as an answer; `credited` needs the ledger entry it names. */
export function outcomeAnswer(outcome: Exclude<PaymentOutcome, { status: 'credited' }>, notPayableStatus: 200 | 409): PaymentAnswer {
  switch (outcome.status) {
    case 'not_payable':
      return notPayableAnswer(outcome.paymentIntentId, outcome.paymentIntentStatus, notPayableStatus);
    case 'not_eligible':
      return notEligibleAnswer(outcome.paymentIntentId, outcome.why, notPayableStatus);
    case 'rejected':
      return rejectedAnswer(outcome.paymentIntentId);
  }
}
