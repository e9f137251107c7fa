import type { AttentionReason } from './payment.js';

/**
 * Every ApplicationFailure type payconfirm throws, in one table: the non-retryable failures activities throw (and
 * the needs_attention reason each becomes in the payment workflow), the retryable ones (their retry policy applies),
 * and the refusals of the payment workflow's operator updates. Workflow-safe (pure).
 */
export const FAILURE_TYPES = {
  // Retryable: the activity's retry policy (or Stripe's Retry-After) applies.
  stripeRateLimited: 'StripeRateLimited',
  stripeUnavailable: 'StripeUnavailable',
  /** The same Idempotency-Key is still in flight at Stripe (409). */
  stripeConflict: 'StripeConflict',
  /** A resolve refused because the payment was credited meanwhile: the next attempt finds the credit. */
  creditedMeanwhile: 'CreditedMeanwhile',
  // Non-retryable:
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
  /** The scheduled reconcile's run row is missing (its begin step never ran). */
  reconcileRunMissing: 'ReconcileRunMissing',
  // Refusals of the payment workflow's operator updates (their validators; workflows/operator-actions.ts).
  notAwaitingOperator: 'NotAwaitingOperator',
  resolveNotApplicable: 'ResolveNotApplicable',
  skipMirrorNotApplicable: 'SkipMirrorNotApplicable',
  alreadyCredited: 'AlreadyCredited',
  decisionPending: 'DecisionPending',
  invalidReason: 'InvalidReason',
  invalidResolve: 'InvalidResolve',
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
