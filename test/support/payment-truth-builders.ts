import type { PaymentIntentSnapshot } from '../../src/domain/payment.js';
import type { DisputeFact, PaymentTruth, RefundFact } from '../../src/domain/payment-truth.js';

/** Builders of Stripe's truth for the pure money-model tests: a succeeded, tagged 2,500 usd PaymentIntent `pi_1`. */
export const paymentIntent = (over: Partial<PaymentIntentSnapshot> = {}): PaymentIntentSnapshot => ({
  id: 'pi_1',
  status: 'succeeded',
  amountMinor: 2_500,
  amountReceivedMinor: 2_500,
  currency: 'usd',
  customerId: 'cus_1',
  metadata: { payconfirm: 'credit' },
  ...over,
});

export const truthOf = (over: { pi?: Partial<PaymentIntentSnapshot>; refunds?: RefundFact[]; disputes?: DisputeFact[] } = {}): PaymentTruth => ({
  paymentIntent: paymentIntent(over.pi),
  charge: { id: 'ch_1', amountRefundedMinor: 0, disputed: (over.disputes ?? []).length > 0 },
  refunds: over.refunds ?? [],
  disputes: over.disputes ?? [],
});
