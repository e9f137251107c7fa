import type { Account } from '../db/accounts.js';
import type { PaymentBooks } from '../domain/payment-plan.js';
import type { PaymentTruth } from '../domain/payment-truth.js';
import { readPaymentTruth, truthHintsOf, type TruthHints } from '../stripe/read-payment-truth.js';
import { isResourceMissing } from '../stripe/stripe-failures.js';
import type { StripeClient } from '../stripe/stripe-client.js';
import { type HttpError, notFound, unavailable } from './http-errors.js';
import type { StripeReadBudget } from './stripe-read-budget.js';
import type { SingleFlight } from '../runtime/single-flight.js';

/**
 * Whose payment it is: the account of record once credited (an operator may have resolved it to another
 * account than Stripe's customer), else the account linked to the PaymentIntent's Stripe customer.
 */
export function ownsPayment(account: Account, books: PaymentBooks, customerId: string | null): boolean {
  if (books.accountOfRecord) return books.accountOfRecord.accountId === account.id;
  return customerId !== null && customerId === account.stripeCustomerId;
}

/**
 * How a caller who does not own the payment is answered, whatever they ask (confirm, status, refund): 404, exactly as
 * for a PaymentIntent that does not exist, so the API never tells a stranger that another account's payment exists.
 */
export const strangerError = (paymentIntentId: string): HttpError => notFound(`no PaymentIntent ${paymentIntentId}`, 'payment_intent_not_found');

/** A fresh read of Stripe's truth, and when it was made (a new payment run may use it instead of reading again). */
export interface FreshTruth {
  truth: PaymentTruth;
  readAtMs: number;
}

/** Reads of Stripe's truth under way in this API process, shared by concurrent callers (one SingleFlight per API). */
export type TruthReads = SingleFlight<FreshTruth>;

/**
 * Reads Stripe's truth about the PaymentIntent for a caller (the same read the payment workflow makes: one GET for
 * a payment without refunds or disputes) and checks it is theirs: 404 if Stripe does not know it or it is another
 * account's — before anything is started or credited.
 *
 * - Ownership known from the books (the account of record): a stranger is answered at once, with no Stripe read.
 * - Concurrent callers of one account and PaymentIntent share one read (`truthReads`); only the caller who starts it
 *   spends a Stripe read of the account's budget and of the API's (src/api/stripe-read-budget.ts). Never shared across
 *   accounts: one account's refused read must not become another's answer.
 */
export async function loadOwnedPaymentTruth(
  deps: { stripe: StripeClient; stripeReads: StripeReadBudget; truthReads: TruthReads },
  account: Account,
  books: PaymentBooks,
  /** What the caller needs listed whatever the books say (a refund needs every refund: what is left depends on them). */
  needs: Partial<TruthHints> = {},
): Promise<FreshTruth> {
  const pi = books.paymentIntentId;
  if (books.accountOfRecord && books.accountOfRecord.accountId !== account.id) throw strangerError(pi);
  const booked = truthHintsOf(books);
  const hints = { refundsBooked: booked.refundsBooked || needs.refundsBooked === true, disputesBooked: booked.disputesBooked || needs.disputesBooked === true };
  const { result } = deps.truthReads.run(`${account.id}:${pi}:${hints.refundsBooked}:${hints.disputesBooked}`, async () => {
    deps.stripeReads.take(account.id);
    const readAtMs = Date.now();
    try {
      return { truth: await readPaymentTruth(deps.stripe, pi, hints), readAtMs };
    } catch (err) {
      if (isResourceMissing(err)) throw strangerError(pi); // an unknown PaymentIntent: the same answer as a stranger's
      throw unavailable('stripe_unavailable', 'Stripe could not be reached; retry shortly', 5);
    }
  });
  const fresh = await result;
  if (!ownsPayment(account, books, fresh.truth.paymentIntent.customerId)) throw strangerError(pi);
  return fresh;
}
