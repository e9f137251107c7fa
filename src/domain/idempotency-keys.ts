/**
 * Every idempotency key payconfirm uses, in one place. Keys are explicit and derived only from Stripe ids,
 * so every retry, every concurrent caller and every new workflow run computes the same key.
 * Workflow-safe (pure).
 */

/** Ledger: the one credit a PaymentIntent may produce. Also enforced by a partial UNIQUE index. */
export const ledgerKeyForPaymentCredit = (paymentIntentId: string): string => `stripe:payment_intent:${paymentIntentId}`;

/** Ledger: one debit per Stripe refund whose money left (partial refunds each have their own id, so they add up). */
export const ledgerKeyForRefundDebit = (refundId: string): string => `stripe:refund:${refundId}`;

/** Ledger: gives a refund's debit back when the refund fails or is canceled. */
export const ledgerKeyForRefundReversal = (refundId: string): string => `stripe:refund:${refundId}:reversal`;

/** Ledger: one debit per dispute whose funds Stripe withdrew. */
export const ledgerKeyForDisputeDebit = (disputeId: string): string => `stripe:dispute:${disputeId}`;

/** Ledger: gives a dispute's debit back when Stripe reinstates the funds (dispute won). */
export const ledgerKeyForDisputeReversal = (disputeId: string): string => `stripe:dispute:${disputeId}:reversal`;

/**
 * Keys derived from a caller's own Idempotency-Key (the API's money-moving POSTs) or an operator's `--key`, scoped
 * to the account. The caller's key is any printable text up to 255 characters, so it enters as a digest
 * (`callerKeyDigest`, src/db/idempotency-keys.ts): the result always fits the ledger's key column.
 */
export const ledgerKeyForUsageDebit = (accountId: string, callerKeyDigest: string): string => `api:debit:${accountId}:${callerKeyDigest}`;

/** Hold: the credits a refund asked through the API reserves before Stripe is asked (one per caller key, ever). */
export const holdKeyForApiRefund = (accountId: string, callerKeyDigest: string): string => `api:refund-hold:${accountId}:${callerKeyDigest}`;

/** Stripe Idempotency-Key of a refund asked through the API: a retry after a lost answer gets the same refund. */
export const stripeKeyForApiRefund = (accountId: string, callerKeyDigest: string): string => `refund:${accountId}:${callerKeyDigest}`;

/** Ledger: a support adjustment (`payconfirm ledger adjust --key`), under the operator's explicit key. */
export const ledgerKeyForAdjustment = (operatorKey: string): string => `admin:adjust:${operatorKey}`;

/** Stripe Idempotency-Key for the customer balance transaction that mirrors the ledger credit. */
export const stripeKeyForCreditTransaction = (paymentIntentId: string): string => `credit-tx:${paymentIntentId}`;

/**
 * Stripe Idempotency-Key for the balance transaction mirroring any later movement (refund, reversal, dispute):
 * the movement's own ledger key, so one movement can never produce two mirror transactions.
 */
export const stripeKeyForMirrorTransaction = (movementKey: string): string => `mirror-tx:${movementKey}`;

/**
 * Stripe Idempotency-Key for a mirror transaction made again after reconcile found the recorded one missing on
 * Stripe: derived from the movement and the lost transaction, so one loss is repaired once.
 */
export const stripeKeyForMirrorRepair = (movementKey: string, lostBalanceTransactionId: string): string =>
  `mirror-repair:${movementKey}:${lostBalanceTransactionId}`;

/** Stripe Idempotency-Key for marking the PaymentIntent's metadata as credited. */
export const stripeKeyForCreditMark = (paymentIntentId: string): string => `credit-mark:${paymentIntentId}`;

/**
 * Stripe stores a 500 under its key and replays it for 24 h. When a replayed 5xx proves a key is spent
 * without effect (a lookup made after it found nothing), the next generation of the same key is used:
 * `credit-tx:pi_1`, `credit-tx:pi_1:g1`, `credit-tx:pi_1:g2`, … — still derived only from Stripe ids.
 */
export const keyGeneration = (baseKey: string, generation: number): string =>
  generation === 0 ? baseKey : `${baseKey}:g${generation}`;
