import type { Account } from '../db/accounts.js';
import type { PaymentBooks } from '../domain/payment-plan.js';
import type { PaymentTruth } from '../domain/payment-truth.js';
import { readPaymentTruth } from '../stripe/read-payment-truth.js';
import { isResourceMissing } from '../stripe/stripe-failures.js';
import type { StripeClient } from '../stripe/stripe-client.js';
import { HttpError, notFound, unavailable } from './http-errors.js';
import type { StripeReadBudget } from './stripe-read-budget.js';

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

/** A fresh read of Stripe's truth, and when it was made (a new payment run may use it instead of reading again). */
export interface FreshTruth {
  truth: PaymentTruth;
  readAtMs: number;
}

/**
 * Reads Stripe's truth about the PaymentIntent for a caller (the same read the payment workflow makes: one GET for
 * a payment without refunds or disputes) and checks it is theirs: 404 if Stripe does not know it, `stranger` if it
 * is another account's — before anything is started or credited.
 */
export async function loadOwnedPaymentTruth(
  deps: { stripe: StripeClient; stripeReads: StripeReadBudget },
  account: Account,
  books: PaymentBooks,
  stranger: StrangerAnswer,
): Promise<FreshTruth> {
  const { stripe } = deps;
  deps.stripeReads.take();
  let truth: PaymentTruth;
  const readAtMs = Date.now();
  try {
    truth = await readPaymentTruth(stripe, books.paymentIntentId, {
      refundsBooked: books.movements.some((m) => m.kind.startsWith('refund_')),
      disputesBooked: books.movements.some((m) => m.kind.startsWith('dispute_')),
    });
  } catch (err) {
    if (isResourceMissing(err)) throw notFound(`no PaymentIntent ${books.paymentIntentId}`, 'payment_intent_not_found');
    throw unavailable('stripe_unavailable', 'Stripe could not be reached; retry shortly', 5);
  }
  if (!ownsPayment(account, books, truth.paymentIntent.customerId)) throw strangerError(books.paymentIntentId, stranger);
  return { truth, readAtMs };
}
