import { MIRROR_STAGE, type AttentionReason, type PaymentState } from '../src/domain/payment.js';
import { FAILURE_TYPES } from '../src/domain/failure-types.js';

/**
 * When an operator's `retry`, `resolve` or `reject` applies to a payment, and what to do for each reason it
 * waits for. One place for these rules: the workflow's update validators, its UI details and the CLI use them.
 * Workflow-safe (pure).
 */
export type OperatorActionName = 'retry' | 'resolve' | 'reject' | 'skipMirror';

/** Reasons an operator settles by naming the account to credit (`resolve {"accountId": "…"}`). */
export const ACCOUNT_REASONS: readonly AttentionReason[] = ['no_customer', 'no_account_for_customer', 'unknown_account'];

/** What an operator should look at and do, per reason. */
export const OPERATOR_HINTS: Record<AttentionReason, string> = {
  no_customer: 'The PaymentIntent has no Stripe customer: resolve with the account to credit, or reject.',
  no_account_for_customer:
    'No payconfirm account is linked to this Stripe customer: create it (`payconfirm accounts create --stripe-customer …`) and retry, or resolve with an existing account, or reject.',
  unknown_account: 'The account named by resolve does not exist: resolve again with an existing account, or reject.',
  amount_anomaly:
    'Stripe reports an amount or currency payconfirm will not credit: check the PaymentIntent in Stripe; reject, or retry once Stripe shows a sound amount.',
  stripe_idempotency_error:
    "Another request used this payment's Idempotency-Key with different parameters: check the customer's balance transactions in Stripe; retry once the key is free (24 h) or the conflicting transaction carries metadata.payment_intent.",
  stripe_credentials_rejected: "Stripe refused the worker's API key: fix STRIPE_SECRET_KEY on the workers, restart them, then retry.",
  stripe_request_rejected: 'Stripe refused the request (see the detail): fix the cause in Stripe, then retry.',
  ledger_conflict: "The ledger already holds a different entry under this payment's key: investigate, then retry.",
  stripe_key_generations_exhausted:
    "Every generation of this step's Stripe Idempotency-Key was answered with a stored 5xx that applied nothing: check Stripe's status, then retry (new keys come with the next day's window), or skip-mirror if the ledger should go on without Stripe.",
  retries_exhausted: 'The step failed on every attempt of its retry budget: fix the cause (see the detail), then retry.',
};

export interface Refusal {
  /** ApplicationFailure type of the validator's refusal. */
  type: string;
  message: string;
}

/** Why `action` cannot apply to the payment as it stands; null when it can. */
export function refusalOf(action: OperatorActionName, state: PaymentState): Refusal | null {
  if (state.stage !== 'needs_attention' || !state.attention) {
    return {
      type: FAILURE_TYPES.notAwaitingOperator,
      message: `payment ${state.paymentIntentId} is ${state.stage}, not needs_attention: ${action} applies only to a payment waiting for an operator`,
    };
  }
  if (action === 'resolve' && !ACCOUNT_REASONS.includes(state.attention.reason)) {
    return {
      type: FAILURE_TYPES.resolveNotApplicable,
      message: `resolve names the account to credit, but payment ${state.paymentIntentId} waits for ${state.attention.reason}: fix the cause and retry${refusalOf('reject', state) ? '' : ', or reject'}`,
    };
  }
  if (action === 'skipMirror' && (state.attention.failedStage !== MIRROR_STAGE || !state.ledgerEntryId)) {
    return {
      type: FAILURE_TYPES.skipMirrorNotApplicable,
      message: `skip-mirror leaves the Stripe customer balance alone after the ledger credit, but payment ${state.paymentIntentId} waits at ${state.attention.failedStage}`,
    };
  }
  if (action === 'reject' && state.ledgerEntryId) {
    return {
      type: FAILURE_TYPES.alreadyCredited,
      message: `payment ${state.paymentIntentId} is already credited in the ledger (entry ${state.ledgerEntryId}): it cannot be rejected; fix the cause and retry, or skip-mirror`,
    };
  }
  return null;
}

/** The actions an operator may take now, for the UI details and the CLI. */
export const availableActions = (state: PaymentState): OperatorActionName[] =>
  (['retry', 'resolve', 'reject', 'skipMirror'] as const).filter((action) => refusalOf(action, state) === null);
