import type Stripe from 'stripe';
import type { Account } from '../db/accounts.js';
import { loadPaymentBooks } from '../db/payment-books.js';
import { callerKeyDigest, type StoredResponse } from '../db/idempotency-keys.js';
import { stripeKeyForApiRefund } from '../domain/idempotency-keys.js';
import { readPaymentTruth } from '../stripe/read-payment-truth.js';
import { isResourceMissing } from '../stripe/stripe-failures.js';
import { signalPaymentWithStart } from '../temporal/payment-workflow-client.js';
import type { ApiDeps } from './api-deps.js';
import { HttpError, unavailable } from './http-errors.js';
import { strangerError } from './payment-lookup.js';

/** The refund payconfirm asks Stripe for; identical on every attempt under its Idempotency-Key. */
export const apiRefundParams = (paymentIntentId: string, amountMinor: number, accountId: string): Stripe.RefundCreateParams => ({
  payment_intent: paymentIntentId,
  amount: amountMinor,
  metadata: { payconfirm_account: accountId },
});

/** The notice that wakes the payment after a refund asked through the API (its webhook will too: the same convergence). */
export const API_REFUND_NOTICE_TYPE = 'payconfirm.refund';

/**
 * POST /billing/refunds: refunds (part of) a credited payment through Stripe. Only the payment's account of record
 * may; the amount may not exceed what Stripe has not refunded yet. The refund is created under an Idempotency-Key
 * derived from the caller's, so a retry after a lost answer gets the same refund from Stripe. The books are not
 * touched here: the payment workflow, woken now (and by the refund's webhook), applies the debit and its mirror
 * like for any refund — one path for money, whoever started it.
 */
export async function refundPayment(
  deps: ApiDeps,
  account: Account,
  request: { paymentIntentId: string; amountMinor: number | undefined; idempotencyKey: string },
): Promise<StoredResponse> {
  const pi = request.paymentIntentId;
  const books = await loadPaymentBooks(deps.pool, pi);
  if (!books.accountOfRecord || books.accountOfRecord.accountId !== account.id) throw strangerError(pi, 404);
  deps.stripeReads.take();
  let truth;
  try {
    truth = await readPaymentTruth(deps.stripe, pi, { refundsBooked: true, disputesBooked: false });
  } catch (err) {
    if (isResourceMissing(err)) throw strangerError(pi, 404);
    throw unavailable('stripe_unavailable', 'Stripe could not be reached; retry with the same Idempotency-Key', 5);
  }
  const refunded = truth.refunds.filter((r) => r.status !== 'failed' && r.status !== 'canceled').reduce((sum, r) => sum + r.amountMinor, 0);
  const left = truth.paymentIntent.amountReceivedMinor - refunded;
  const amount = request.amountMinor ?? left;
  if (amount <= 0 || amount > left) {
    throw new HttpError(409, 'refund_exceeds_remaining', `${amount} ${truth.paymentIntent.currency} is more than the ${left} ${truth.paymentIntent.currency} left to refund`);
  }
  let refund;
  try {
    refund = await deps.stripe.refunds.create(apiRefundParams(pi, amount, account.id), {
      idempotencyKey: stripeKeyForApiRefund(account.id, callerKeyDigest(request.idempotencyKey)),
    });
  } catch (err) {
    const e = err as { statusCode?: number; code?: string; message?: string };
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500 && e.statusCode !== 429) {
      throw new HttpError(409, 'refund_refused', `Stripe refused the refund${e.code ? ` (${e.code})` : ''}`);
    }
    throw unavailable('stripe_unavailable', 'Stripe could not be reached; retry with the same Idempotency-Key', 5);
  }
  // Wake the payment so its books converge now; the refund's webhook would do it too, so a Temporal hiccup is only logged.
  await signalPaymentWithStart(deps.payments, pi, { eventId: `refund_api_${refund.id}`, eventType: API_REFUND_NOTICE_TYPE }).catch((err: unknown) =>
    deps.logger.warn({ paymentIntentId: pi, refundId: refund.id, err: { message: (err as Error).message } }, 'could not wake the payment after a refund; its webhook will'),
  );
  return {
    status: 201,
    body: { refund: { id: refund.id, payment_intent_id: pi, amount_minor: refund.amount, currency: refund.currency, status: refund.status } },
  };
}
