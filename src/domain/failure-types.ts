import type { AttentionReason } from './payment.js';

/**
 * Types of the non-retryable failures activities throw (ApplicationFailure.type), and the
 * needs_attention reason each becomes in the payment workflow. Workflow-safe (pure).
 */
export const FAILURE_TYPES = {
  stripeResourceMissing: 'StripeResourceMissing',
  stripeIdempotency: 'StripeIdempotencyError',
  stripeCredentials: 'StripeCredentialsRejected',
  stripeRejected: 'StripeRequestRejected',
  stripeKeyGenerationsExhausted: 'StripeKeyGenerationsExhausted',
  ledgerConflict: 'LedgerConflict',
  /** The database refused the credit: an operator rejected the payment (a run that raced the decision). */
  paymentRejected: 'PaymentRejected',
  /** The database refused an operator decision that no longer applies (reject or resolve after the credit). */
  decisionRefused: 'DecisionRefused',
} as const;

const REASON_BY_TYPE: Record<string, AttentionReason> = {
  [FAILURE_TYPES.stripeResourceMissing]: 'stripe_request_rejected',
  [FAILURE_TYPES.stripeIdempotency]: 'stripe_idempotency_error',
  [FAILURE_TYPES.stripeCredentials]: 'stripe_credentials_rejected',
  [FAILURE_TYPES.stripeRejected]: 'stripe_request_rejected',
  [FAILURE_TYPES.ledgerConflict]: 'ledger_conflict',
  [FAILURE_TYPES.stripeKeyGenerationsExhausted]: 'stripe_key_generations_exhausted',
};

/** A failure type we know maps to its reason; anything else reached the end of its retry budget. */
export const attentionReasonForFailure = (type: string | undefined | null): AttentionReason =>
  (type && REASON_BY_TYPE[type]) || 'retries_exhausted';
