import type Stripe from 'stripe';
import type { Account } from '../db/accounts.js';
import { toPaymentIntentSnapshot } from '../stripe/payment-intent-snapshot.js';
import type { PaymentIntentSnapshot } from '../domain/payment.js';
import { isResourceMissing } from '../stripe/stripe-failures.js';
import type { StripeClient } from '../stripe/stripe-client.js';
import { forbidden, notFound, unavailable } from './http-errors.js';

/**
 * Reads the PaymentIntent from Stripe for a caller and checks it is theirs: 404 if Stripe does not know it,
 * 403 if its customer is not the caller's — before anything is started or credited.
 */
export async function loadOwnedPaymentIntent(stripe: StripeClient, account: Account, paymentIntentId: string): Promise<PaymentIntentSnapshot> {
  let pi: Stripe.PaymentIntent;
  try {
    pi = await stripe.paymentIntents.retrieve(paymentIntentId);
  } catch (err) {
    if (isResourceMissing(err)) throw notFound(`no PaymentIntent ${paymentIntentId}`, 'payment_intent_not_found');
    throw unavailable('stripe_unavailable', 'Stripe could not be reached; retry shortly', 5);
  }
  const snapshot = toPaymentIntentSnapshot(pi);
  if (snapshot.customerId !== account.stripeCustomerId) throw forbidden(`PaymentIntent ${paymentIntentId} does not belong to this account`);
  return snapshot;
}
