import type { PaymentIntentSnapshot } from './payment.js';

/**
 * Stripe's current truth about one PaymentIntent: what every money decision is made from. Read fresh from
 * Stripe each time (src/stripe/read-payment-truth.ts), never taken from an event body. Workflow-safe (pure types).
 */

export type RefundStatus = 'pending' | 'requires_action' | 'succeeded' | 'failed' | 'canceled';

export interface RefundFact {
  id: string;
  amountMinor: number;
  currency: string;
  status: RefundStatus;
  /** The hold a refund asked through the API reserved (its `payconfirm_hold` metadata); its debit settles it. */
  holdId?: string;
}

export type DisputeStatus =
  | 'warning_needs_response'
  | 'warning_under_review'
  | 'warning_closed'
  | 'needs_response'
  | 'under_review'
  | 'won'
  | 'lost';

export interface DisputeFact {
  id: string;
  amountMinor: number;
  currency: string;
  status: DisputeStatus;
  /** Stripe took the disputed funds from the account (a negative dispute balance transaction exists). */
  fundsWithdrawn: boolean;
  /** Stripe gave them back (a positive dispute balance transaction exists: the dispute was won). */
  fundsReinstated: boolean;
}

export interface ChargeFact {
  id: string;
  /** Refunds not failed or canceled (pending and requires_action included), as Stripe counts them. */
  amountRefundedMinor: number;
  /** Ever disputed: stays true after the dispute closes. */
  disputed: boolean;
}

export interface PaymentTruth {
  paymentIntent: PaymentIntentSnapshot;
  /** The PaymentIntent's latest charge; null before one exists. */
  charge: ChargeFact | null;
  /** Every refund of the PaymentIntent (listed only when the charge or the books say there may be one). */
  refunds: RefundFact[];
  /** Every dispute of the PaymentIntent (listed only when the charge was disputed or the books hold one). */
  disputes: DisputeFact[];
}

/**
 * Refund states in which the money has left the account: Stripe takes a refund's amount from the balance when the
 * refund is created (it counts in the charge's amount_refunded) and gives it back only if it fails or is canceled.
 * `requires_action` (the customer must act before the money reaches them) is money out too.
 */
export const REFUND_MONEY_LEFT: readonly RefundStatus[] = ['pending', 'requires_action', 'succeeded'];
/** Refund states in which the money came back (never left, or returned). */
export const REFUND_MONEY_RETURNED: readonly RefundStatus[] = ['failed', 'canceled'];

/**
 * Stripe's net for the PaymentIntent, in its currency: amount received − refunds not failed or canceled − disputed
 * funds withdrawn and not reinstated. Invariant 7: the ledger's net for the PaymentIntent equals this.
 */
export function stripeNetMinor(truth: PaymentTruth): number {
  if (truth.paymentIntent.status !== 'succeeded') return 0;
  const refunded = truth.refunds.filter((r) => REFUND_MONEY_LEFT.includes(r.status)).reduce((sum, r) => sum + r.amountMinor, 0);
  const withdrawn = truth.disputes
    .filter((d) => d.fundsWithdrawn && !d.fundsReinstated)
    .reduce((sum, d) => sum + d.amountMinor, 0);
  return truth.paymentIntent.amountReceivedMinor - refunded - withdrawn;
}
