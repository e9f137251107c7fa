import { REFUND_MONEY_LEFT, REFUND_MONEY_RETURNED, type PaymentTruth } from './payment-truth.js';

/**
 * What a refund asked through the API (POST /billing/refunds) may give back: the rule of invariant 11, "an API caller
 * never takes an account's balance below zero". Workflow-safe (pure).
 *
 * A refund hands card money back, so the account must give up the credits it bought with it: the amount is reserved
 * on the account (a hold) before Stripe is asked, and only credits the account still holds can be reserved. Which
 * purchase the spent credits came from does not matter (credits are fungible within a currency); what matters is
 * that the account keeps at least zero available after the hold.
 *
 * | asked                  | left to refund at Stripe | available (balance − holds) | answer                                  |
 * | ---------------------- | ------------------------ | --------------------------- | --------------------------------------- |
 * | nothing (all left)     | L > 0                    | A ≥ L                       | refund L                                |
 * | nothing (all left)     | L > 0                    | A < L                       | refused: `refund_exceeds_available`     |
 * | n                      | L ≥ n                    | A ≥ n                       | refund n                                |
 * | n                      | L < n                    | any                         | refused: `refund_exceeds_remaining`     |
 * | n                      | L ≥ n                    | A < n                       | refused: `refund_exceeds_available`     |
 * | anything               | 0                        | any                         | refused: `refund_exceeds_remaining`     |
 * | any, other currency    | —                        | —                           | refused: `refund_exceeds_available` (A is 0 in a currency never credited) |
 *
 * Refusals say how much could be refunded (`refundable_minor` = min(L, A), never below 0), so a caller who spent
 * part of a purchase learns what it may still give back. A refund not asked through the API (the Stripe dashboard)
 * and a dispute are not the caller's doing: they move the books as Stripe says and may leave debt.
 */
/** The refund's Stripe metadata key naming the hold it settles (payconfirm's own marks are `payconfirm_…`). */
export const REFUND_HOLD_METADATA = 'payconfirm_hold';

export type RefundAllowance =
  | { kind: 'allowed'; amountMinor: number; currency: string }
  | { kind: 'refused'; code: 'refund_exceeds_remaining' | 'refund_exceeds_available'; refundableMinor: number; currency: string; askedMinor: number };

/** Stripe's amount not yet refunded: received − refunds whose money left or may still leave (pending, requires_action, succeeded). */
export function leftToRefundMinor(truth: PaymentTruth): number {
  if (truth.paymentIntent.status !== 'succeeded') return 0;
  const refunded = truth.refunds.filter((r) => REFUND_MONEY_LEFT.includes(r.status)).reduce((sum, r) => sum + r.amountMinor, 0);
  return Math.max(0, truth.paymentIntent.amountReceivedMinor - refunded);
}

export function refundAllowance(input: { askedMinor: number | undefined; leftMinor: number; availableMinor: number; currency: string }): RefundAllowance {
  const { leftMinor, currency } = input;
  const available = Math.max(0, input.availableMinor);
  const asked = input.askedMinor ?? leftMinor;
  const refundableMinor = Math.max(0, Math.min(leftMinor, available));
  if (leftMinor <= 0 || asked > leftMinor) return { kind: 'refused', code: 'refund_exceeds_remaining', refundableMinor, currency, askedMinor: asked };
  if (asked > available) return { kind: 'refused', code: 'refund_exceeds_available', refundableMinor, currency, askedMinor: asked };
  return { kind: 'allowed', amountMinor: asked, currency };
}

/**
 * The holds Stripe's truth frees: a refund asked through the API that failed or was canceled before its debit was
 * booked gives the card money back to the business, so the credits it reserved count as available again. (A refund
 * debited first settled its hold; its failure is a refund reversal, which credits the account.) Call it with the
 * holds still open after the payment's movements were applied.
 */
export function holdsFreedByStripe(truth: PaymentTruth, openHoldIds: readonly string[]): string[] {
  const open = new Set(openHoldIds);
  return truth.refunds.filter((r) => r.holdId !== undefined && open.has(r.holdId) && REFUND_MONEY_RETURNED.includes(r.status)).map((r) => r.holdId!);
}
