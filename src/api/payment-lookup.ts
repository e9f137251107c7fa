import type Stripe from 'stripe';
import type { Account } from '../db/accounts.js';
import type { PaymentBooks } from '../domain/payment-plan.js';
import { toPaymentIntentSnapshot } from '../stripe/payment-intent-snapshot.js';
import type { PaymentIntentSnapshot } from '../domain/payment.js';
import { isResourceMissing } from '../stripe/stripe-failures.js';
import type { StripeClient } from '../stripe/stripe-client.js';
import { HttpError, notFound, unavailable } from './http-errors.js';

/**
 * Whose payment it is: the account of record once credited (an operator may have resolved it to another
 * account than Stripe's customer), else the account linked to the PaymentIntent's Stripe customer.
 */
export function ownsPayment(account: Account, books: PaymentBooks, customerId: string | null): boolean {
  if (books.accountOfRecord) return books.accountOfRecord.accountId === account.id;
  return customerId !== null && customerId === account.stripeCustomerId;
}

/** How a caller who does not own the payment is answered: confirm says 403, a status read says 404 (no hint it exists). */
export type StrangerAnswer = 403 | 404;

export const strangerError = (paymentIntentId: string, answer: StrangerAnswer): HttpError =>
  answer === 404
    ? notFound(`no PaymentIntent ${paymentIntentId}`, 'payment_intent_not_found')
    : new HttpError(403, 'forbidden', `PaymentIntent ${paymentIntentId} does not belong to this account`);

/**
 * Reads the PaymentIntent from Stripe for a caller and checks it is theirs: 404 if Stripe does not know it,
 * `stranger` if it is another account's — before anything is started or credited.
 */
export async function loadOwnedPaymentIntent(
  stripe: StripeClient,
  account: Account,
  books: PaymentBooks,
  stranger: StrangerAnswer,
): Promise<PaymentIntentSnapshot> {
  let pi: Stripe.PaymentIntent;
  try {
    pi = await stripe.paymentIntents.retrieve(books.paymentIntentId);
  } catch (err) {
    if (isResourceMissing(err)) throw notFound(`no PaymentIntent ${books.paymentIntentId}`, 'payment_intent_not_found');
    throw unavailable('stripe_unavailable', 'Stripe could not be reached; retry shortly', 5);
  }
  const snapshot = toPaymentIntentSnapshot(pi);
  if (!ownsPayment(account, books, snapshot.customerId)) throw strangerError(books.paymentIntentId, stranger);
  return snapshot;
}
