import type Stripe from 'stripe';
import type { ChargeFact, DisputeFact, DisputeStatus, PaymentTruth, RefundFact, RefundStatus } from '../domain/payment-truth.js';
import type { PaymentBooks } from '../domain/payment-plan.js';
import { REFUND_HOLD_METADATA } from '../domain/refund-allowance.js';
import { toPaymentIntentSnapshot } from './payment-intent-snapshot.js';
import type { StripeClient } from './stripe-client.js';

/**
 * Reads Stripe's current truth about a PaymentIntent with as few requests as the answer allows:
 * one retrieve with the latest charge expanded; the refunds list only when the charge shows refunded money
 * or the books already hold refund movements (a refund that failed gives its amount back to the charge);
 * the disputes list only when the charge was ever disputed or the books hold dispute movements.
 */
export interface TruthHints {
  /** The books hold refund movements for this PaymentIntent. */
  refundsBooked: boolean;
  /** The books hold dispute movements for this PaymentIntent. */
  disputesBooked: boolean;
}

/** The hints a payment's books give: refunds are listed when any was booked or an API refund still holds credits. */
export const truthHintsOf = (books: Pick<PaymentBooks, 'movements' | 'openHoldIds'>): TruthHints => ({
  refundsBooked: books.movements.some((m) => m.kind.startsWith('refund_')) || (books.openHoldIds?.length ?? 0) > 0,
  disputesBooked: books.movements.some((m) => m.kind.startsWith('dispute_')),
});

export async function readPaymentTruth(stripe: StripeClient, paymentIntentId: string, hints: TruthHints): Promise<PaymentTruth> {
  const pi = await stripe.paymentIntents.retrieve(paymentIntentId, { expand: ['latest_charge'] });
  const charge = toChargeFact(pi.latest_charge);
  const listRefunds = hints.refundsBooked || (charge?.amountRefundedMinor ?? 0) > 0;
  const listDisputes = hints.disputesBooked || charge?.disputed === true;
  const [refunds, disputes] = await Promise.all([
    listRefunds ? collect(stripe.refunds.list({ payment_intent: paymentIntentId, limit: 100 }), toRefundFact) : [],
    listDisputes ? collect(stripe.disputes.list({ payment_intent: paymentIntentId, limit: 100 }), toDisputeFact) : [],
  ]);
  return { paymentIntent: toPaymentIntentSnapshot(pi), charge, refunds, disputes };
}

async function collect<T, U>(list: AsyncIterable<T>, map: (item: T) => U): Promise<U[]> {
  const out: U[] = [];
  for await (const item of list) out.push(map(item));
  return out;
}

function toChargeFact(charge: string | Stripe.Charge | null): ChargeFact | null {
  if (charge === null) return null;
  if (typeof charge === 'string') throw new Error(`latest_charge ${charge} came back unexpanded`);
  return { id: charge.id, amountRefundedMinor: charge.amount_refunded ?? 0, disputed: charge.disputed === true };
}

export const toRefundFact = (r: Stripe.Refund): RefundFact => ({
  id: r.id,
  amountMinor: r.amount,
  currency: r.currency,
  status: (r.status ?? 'pending') as RefundStatus,
  ...(r.metadata?.[REFUND_HOLD_METADATA] ? { holdId: r.metadata[REFUND_HOLD_METADATA] } : {}),
});

export function toDisputeFact(d: Stripe.Dispute): DisputeFact {
  const transactions = d.balance_transactions ?? [];
  return {
    id: d.id,
    amountMinor: d.amount,
    currency: d.currency,
    status: d.status as DisputeStatus,
    fundsWithdrawn: transactions.some((t) => t.amount < 0),
    fundsReinstated: transactions.some((t) => t.amount > 0),
  };
}
