/**
 * Every idempotency key payconfirm uses, in one place. Keys are explicit and derived only from Stripe ids,
 * so every retry, every concurrent caller and every new workflow run computes the same key.
 * Workflow-safe (pure).
 */

/** Ledger: the one credit a PaymentIntent may produce. Also enforced by a partial UNIQUE index. */
export const ledgerKeyForPaymentCredit = (paymentIntentId: string): string => `stripe:payment_intent:${paymentIntentId}`;

/** Ledger: one debit per Stripe refund (partial refunds each have their own id, so they add up). */
export const ledgerKeyForRefundDebit = (refundId: string): string => `stripe:refund:${refundId}`;

/** Stripe Idempotency-Key for the customer balance transaction that mirrors the ledger credit. */
export const stripeKeyForCreditTransaction = (paymentIntentId: string): string => `credit-tx:${paymentIntentId}`;

/** Stripe Idempotency-Key for marking the PaymentIntent's metadata as credited. */
export const stripeKeyForCreditMark = (paymentIntentId: string): string => `credit-mark:${paymentIntentId}`;

/**
 * Stripe stores a 500 under its key and replays it for 24 h. When a replayed 5xx proves a key is spent
 * without effect (the lookup found nothing), the next generation of the same key is used:
 * `credit-tx:pi_1`, `credit-tx:pi_1:g1`, `credit-tx:pi_1:g2`, … — still derived only from the PaymentIntent.
 */
export const keyGeneration = (baseKey: string, generation: number): string =>
  generation === 0 ? baseKey : `${baseKey}:g${generation}`;
