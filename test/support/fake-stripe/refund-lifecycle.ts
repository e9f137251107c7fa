/**
 * The refund status changes Stripe performs (https://docs.stripe.com/refunds#failed-refunds):
 * a `pending` or `requires_action` refund ends `succeeded`, `failed` or
 * `canceled`; `requires_action` may go back to `pending`; and for some payment
 * methods a `succeeded` refund can still turn `failed`.
 */
import type { RefundStatus } from './stripe-objects.js';

/** The statuses a refund can be created with. */
export type InitialRefundStatus = Extract<RefundStatus, 'pending' | 'requires_action' | 'succeeded'>;

const NEXT: Readonly<Record<RefundStatus, readonly RefundStatus[]>> = {
  pending: ['succeeded', 'failed', 'canceled'],
  requires_action: ['pending', 'succeeded', 'failed', 'canceled'],
  succeeded: ['failed'],
  failed: [],
  canceled: [],
};

export function canMoveRefund(from: RefundStatus, to: RefundStatus): boolean {
  return NEXT[from].includes(to);
}

/**
 * Whether a refund in `status` counts in its charge's `amount_refunded`:
 * Stripe reserves the amount at creation and gives it back when the refund
 * fails or is canceled.
 */
export function refundHoldsAmount(status: RefundStatus): boolean {
  return status !== 'failed' && status !== 'canceled';
}
