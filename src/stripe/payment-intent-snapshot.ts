import type Stripe from 'stripe';
import type { PaymentIntentSnapshot, PaymentIntentStatus } from '../domain/payment.js';

/** The facts payconfirm uses from a Stripe PaymentIntent. */
export function toPaymentIntentSnapshot(pi: Stripe.PaymentIntent): PaymentIntentSnapshot {
  return {
    id: pi.id,
    status: pi.status as PaymentIntentStatus,
    amountMinor: pi.amount,
    amountReceivedMinor: pi.amount_received ?? 0,
    currency: pi.currency,
    customerId: typeof pi.customer === 'string' ? pi.customer : (pi.customer?.id ?? null),
    metadata: { ...(pi.metadata ?? {}) },
  };
}
