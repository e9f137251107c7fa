import type Stripe from 'stripe';
import type { Account } from '../db/accounts.js';
import { attachRefundToHold, lockAvailability, placeHold, releaseHold } from '../db/balance-holds.js';
import { callerKeyDigest, completeIdempotencyKey, saveRecoveryPoint, type StoredResponse } from '../db/idempotency-keys.js';
import { loadPaymentBooks } from '../db/payment-books.js';
import { inTransaction } from '../db/pool.js';
import { holdKeyForApiRefund, stripeKeyForApiRefund } from '../domain/idempotency-keys.js';
import { leftToRefundMinor, REFUND_HOLD_METADATA, refundAllowance } from '../domain/refund-allowance.js';
import { retryAfterMs } from '../stripe/stripe-failures.js';
import { signalPaymentWithStart } from '../temporal/payment-workflow-client.js';
import type { ApiDeps } from './api-deps.js';
import { HttpError, unavailable } from './http-errors.js';
import { errorAnswer, type ClaimedKey } from './idempotent-request.js';
import { loadOwnedPaymentTruth, strangerError } from './payment-lookup.js';
import { withTemporal } from './temporal-calls.js';

/** The notice that wakes the payment after a refund asked through the API (its webhook will too: the same convergence). */
export const API_REFUND_NOTICE_TYPE = 'payconfirm.refund';

/** The refund payconfirm asks Stripe for; stored before it is sent and sent identically on every attempt. */
export const apiRefundParams = (paymentIntentId: string, amountMinor: number, accountId: string, holdId: string): Stripe.RefundCreateParams => ({
  payment_intent: paymentIntentId,
  amount: amountMinor,
  metadata: { payconfirm_account: accountId, [REFUND_HOLD_METADATA]: holdId },
});

/** The recovery point of a refund request (idempotency_keys.recovery): the exact Stripe request, and its hold. */
interface RefundRecovery {
  holdId: string;
  stripeIdempotencyKey: string;
  params: Stripe.RefundCreateParams;
}

/** How long the API waits for Temporal to take the wake-up signal (the refund's webhook wakes the payment too). */
const WAKE_DEADLINE_MS = 2_000;

/**
 * POST /billing/refunds: gives back (part of) a credited payment through Stripe, only from credits the account still
 * holds (invariant 11; the rule: src/domain/refund-allowance.ts). In phases, no transaction open across a call out:
 *
 * 1. reserve — the books say whose payment it is (a stranger: 404, no Stripe read); Stripe says what is left to
 *    refund; then ONE short transaction locks the account's balance, checks what is available (balance − holds),
 *    places a hold for the amount and stores the exact Stripe request as the key's recovery point. A refusal here
 *    (409 `refund_exceeds_available` / `refund_exceeds_remaining`) happens before Stripe is asked anything.
 * 2. refund  — the stored request is sent under its Stripe Idempotency-Key (derived from the caller's): a retry after
 *    a lost answer, a 5xx or a 429 replays exactly it, and gets the same refund.
 * 3. answer  — Stripe refused (4xx): the hold is released and the 409 stored, in one transaction. Stripe refunded:
 *    the refund id is noted on the hold and the 201 stored, in one transaction; the payment is woken.
 *
 * The books move later, on one path for every refund whoever started it: the payment workflow applies the refund's
 * debit, which settles the hold in the same transaction (the refund carries the hold's id in its metadata), never
 * a second debit.
 */
export async function refundPayment(
  deps: ApiDeps,
  account: Account,
  request: { paymentIntentId: string; amountMinor: number | undefined },
  claimed: ClaimedKey,
): Promise<StoredResponse> {
  const recovery = (claimed.recovery as RefundRecovery | null) ?? (await reserveRefund(deps, account, request, claimed));
  return sendRefund(deps, recovery, claimed);
}

async function reserveRefund(
  deps: ApiDeps,
  account: Account,
  request: { paymentIntentId: string; amountMinor: number | undefined },
  claimed: ClaimedKey,
): Promise<RefundRecovery> {
  const pi = request.paymentIntentId;
  const books = await loadPaymentBooks(deps.pool, pi);
  if (!books.accountOfRecord) throw strangerError(pi); // never credited: nothing of the caller's to refund
  const { truth } = await loadOwnedPaymentTruth(deps, account, books, { refundsBooked: true });
  const currency = truth.paymentIntent.currency;
  const digest = callerKeyDigest(claimed.request.key);
  return inTransaction(deps.pool, async (tx) => {
    const { availableMinor } = await lockAvailability(tx, account.id, currency);
    const allowance = refundAllowance({ askedMinor: request.amountMinor, leftMinor: leftToRefundMinor(truth), availableMinor, currency });
    if (allowance.kind === 'refused') {
      const why =
        allowance.code === 'refund_exceeds_remaining'
          ? `${allowance.askedMinor} ${currency} is more than Stripe has left to refund on this payment`
          : `${allowance.askedMinor} ${currency} is more than the account still holds (credits spent cannot be refunded)`;
      throw new HttpError(409, allowance.code, `${why}; at most ${allowance.refundableMinor} ${currency} can be refunded`, {}, {
        refundable: { amount_minor: allowance.refundableMinor, currency },
      });
    }
    const hold = await placeHold(tx, {
      holdKey: holdKeyForApiRefund(account.id, digest),
      accountId: account.id,
      currency,
      amountMinor: allowance.amountMinor,
      paymentIntentId: pi,
    });
    const recovery: RefundRecovery = {
      holdId: hold.id,
      stripeIdempotencyKey: stripeKeyForApiRefund(account.id, digest),
      params: apiRefundParams(pi, hold.amountMinor, account.id, hold.id),
    };
    await saveRecoveryPoint(tx, claimed.request, claimed.lockToken, { ...recovery });
    return recovery;
  });
}

async function sendRefund(deps: ApiDeps, recovery: RefundRecovery, claimed: ClaimedKey): Promise<StoredResponse> {
  let refund: Stripe.Refund;
  try {
    refund = await deps.stripe.refunds.create(recovery.params, { idempotencyKey: recovery.stripeIdempotencyKey });
  } catch (err) {
    const e = err as { statusCode?: number; code?: string; headers?: Record<string, string> };
    if (e.statusCode === 429) {
      throw new HttpError(429, 'stripe_rate_limited', 'Stripe is rate limiting refunds; retry with the same Idempotency-Key', {
        'Retry-After': String(Math.ceil((retryAfterMs(e.headers) || 2_000) / 1000)),
      });
    }
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
      // Refused for good: the hold stops counting and the refusal is the key's answer, in one transaction.
      const refused = errorAnswer(new HttpError(409, 'refund_refused', `Stripe refused the refund${e.code ? ` (${e.code})` : ''}`));
      await inTransaction(deps.pool, async (tx) => {
        await releaseHold(tx, recovery.holdId);
        await completeIdempotencyKey(tx, claimed.request, claimed.lockToken, refused);
      });
      return refused;
    }
    // Unknown whether Stripe made it: the hold stays, the key keeps its recovery point, a retry replays the request.
    throw unavailable('stripe_unavailable', 'Stripe could not be reached; retry with the same Idempotency-Key', 5);
  }
  const pi = String(recovery.params.payment_intent);
  const answer: StoredResponse = {
    status: 201,
    body: { refund: { id: refund.id, payment_intent_id: pi, amount_minor: refund.amount, currency: refund.currency, status: refund.status } },
  };
  await inTransaction(deps.pool, async (tx) => {
    await attachRefundToHold(tx, recovery.holdId, refund.id);
    await completeIdempotencyKey(tx, claimed.request, claimed.lockToken, answer);
  });
  // Wake the payment so its books converge now; the refund's webhook would do it too, so a Temporal hiccup is only logged.
  await withTemporal(deps, () => signalPaymentWithStart(deps.payments, pi, { eventId: `refund_api_${refund.id}`, eventType: API_REFUND_NOTICE_TYPE }), WAKE_DEADLINE_MS).catch(
    (err: unknown) =>
      deps.logger.warn({ paymentIntentId: pi, refundId: refund.id, err: { message: (err as Error).message } }, 'could not wake the payment after a refund; its webhook will'),
  );
  return answer;
}
