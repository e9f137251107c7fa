/**
 * The payment workflow's vocabulary: stages, the PaymentIntent facts it acts on, and its outcomes.
 * Workflow-safe (pure types and functions).
 */

/** Stages, in order of a normal run; `needs_attention` waits for an operator. Shown as the PaymentStage search attribute. */
export const PAYMENT_STAGES = [
  'loading',
  'awaiting_payment',
  'crediting_ledger',
  'crediting_stripe',
  'marking',
  'needs_attention',
  'credited',
  'not_payable',
  'not_eligible',
  'rejected',
] as const;
export type PaymentStage = (typeof PAYMENT_STAGES)[number];

/** The stage of Stripe's copy of the books (mirror transactions, the credit mark): the one an operator may skip. */
export const MIRROR_STAGE: PaymentStage = 'crediting_stripe';

export type PaymentIntentStatus =
  | 'requires_payment_method'
  | 'requires_confirmation'
  | 'requires_action'
  | 'processing'
  | 'requires_capture'
  | 'canceled'
  | 'succeeded';

/** What the workflow needs to know about a PaymentIntent, read fresh from Stripe (never from an event body). */
export interface PaymentIntentSnapshot {
  id: string;
  status: PaymentIntentStatus;
  amountMinor: number;
  amountReceivedMinor: number;
  currency: string;
  customerId: string | null;
  metadata: Record<string, string>;
}

export interface CreditedOutcome {
  status: 'credited';
  paymentIntentId: string;
  accountId: string;
  ledgerEntryId: string;
  amountMinor: number;
  currency: string;
  creditedAt: string;
  /** True when this run wrote the ledger entry; false when it found the one an earlier run wrote. */
  ledgerEntryCreated: boolean;
  /** The Stripe customer balance transaction mirroring the credit (null: mirror off or skipped). */
  balanceTransactionId: string | null;
  /** The PaymentIntent's net in the ledger after every movement so far (credit − refunds − disputes). */
  netMinor: number;
  /** How many ledger movements the PaymentIntent has (the credit included). */
  movements: number;
  /** The Stripe customer balance mirror: `on`, `off` (STRIPE_BALANCE_MIRROR) or `skipped` by an operator. */
  mirror: 'on' | 'off' | 'skipped';
}
export interface NotPayableOutcome {
  status: 'not_payable';
  paymentIntentId: string;
  paymentIntentStatus: PaymentIntentStatus;
}
export interface RejectedOutcome {
  status: 'rejected';
  paymentIntentId: string;
  reason: string;
}
/** The PaymentIntent is no credit purchase (CREDIT_PAYMENT_INTENTS): it moves no money. */
export interface NotEligibleOutcome {
  status: 'not_eligible';
  paymentIntentId: string;
  why: string;
}
export type PaymentOutcome = CreditedOutcome | NotPayableOutcome | RejectedOutcome | NotEligibleOutcome;

/** Why a payment waits for an operator. */
export type AttentionReason =
  | 'no_customer'
  | 'no_account_for_customer'
  | 'amount_anomaly'
  | 'stripe_idempotency_error'
  | 'stripe_credentials_rejected'
  | 'stripe_request_rejected'
  | 'ledger_conflict'
  | 'unknown_account'
  | 'stripe_key_generations_exhausted'
  | 'retries_exhausted';

export interface Attention {
  reason: AttentionReason;
  detail: string;
  /** The stage that could not go on; `retry` runs it again. */
  failedStage: PaymentStage;
  since: string;
}

export type PaymentDecision =
  | { kind: 'proceed' }
  | { kind: 'wait_for_payment' }
  | { kind: 'not_payable'; status: PaymentIntentStatus }
  | { kind: 'attention'; reason: AttentionReason; detail: string };

/** Decides what a fresh PaymentIntent snapshot allows. Pure, so it is tested on its own. */
export function decidePayment(pi: PaymentIntentSnapshot): PaymentDecision {
  if (pi.status === 'processing') return { kind: 'wait_for_payment' };
  if (pi.status !== 'succeeded') return { kind: 'not_payable', status: pi.status };
  if (!Number.isSafeInteger(pi.amountReceivedMinor) || pi.amountReceivedMinor <= 0) {
    return { kind: 'attention', reason: 'amount_anomaly', detail: `amount_received is ${pi.amountReceivedMinor}` };
  }
  if (pi.amountReceivedMinor > pi.amountMinor) {
    return { kind: 'attention', reason: 'amount_anomaly', detail: `amount_received ${pi.amountReceivedMinor} exceeds amount ${pi.amountMinor}` };
  }
  if (!/^[a-z]{3}$/.test(pi.currency)) {
    return { kind: 'attention', reason: 'amount_anomaly', detail: `currency "${pi.currency}" is not an ISO code` };
  }
  return { kind: 'proceed' };
}

/** Operator actions on a payment in needs_attention. */
export interface ResolveInput {
  /** Credit this account (when Stripe's customer maps to none, or to the wrong one). */
  accountId?: string;
  note?: string;
}
export interface RejectInput {
  reason: string;
}
/** Leave the Stripe customer balance alone for this payment from now on (the ledger goes on). */
export interface SkipMirrorInput {
  reason: string;
}

/** What the `state` query returns: enough for the UI, the CLI and the confirm endpoint. */
export interface PaymentState {
  paymentIntentId: string;
  stage: PaymentStage;
  attention: Attention | null;
  accountId: string | null;
  customerId: string | null;
  amountMinor: number | null;
  currency: string | null;
  ledgerEntryId: string | null;
  /** The PaymentIntent's net in the ledger (null before the credit). */
  netMinor: number | null;
  outcome: PaymentOutcome | null;
}
