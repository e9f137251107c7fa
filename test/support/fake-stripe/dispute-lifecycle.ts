/**
 * The dispute status changes Stripe performs (https://docs.stripe.com/disputes/how-disputes-work).
 *
 * An inquiry (`warning_*`) moves no money; it closes or escalates to a
 * chargeback. A chargeback withdraws the disputed amount when it opens (at
 * creation, or on escalation) and reinstates it when the dispute is won; a
 * lost dispute keeps the withdrawal.
 */
import type { BalanceTransactionObject, DisputeStatus } from './stripe-objects.js';

const NEXT: Readonly<Record<DisputeStatus, readonly DisputeStatus[]>> = {
  warning_needs_response: ['warning_under_review', 'warning_closed', 'needs_response'],
  warning_under_review: ['warning_closed', 'needs_response'],
  warning_closed: [],
  needs_response: ['under_review', 'won', 'lost'],
  under_review: ['won', 'lost'],
  won: [],
  lost: [],
};

export function canMoveDispute(from: DisputeStatus, to: DisputeStatus): boolean {
  return NEXT[from].includes(to);
}

export function isInquiry(status: DisputeStatus): boolean {
  return status.startsWith('warning_');
}

/** The balance transaction a status change causes, if any. */
export function fundsMovement(from: DisputeStatus, to: DisputeStatus): BalanceTransactionObject['reporting_category'] | undefined {
  if (isInquiry(from) && !isInquiry(to)) return 'dispute';
  if (to === 'won') return 'dispute_reversal';
  return undefined;
}
