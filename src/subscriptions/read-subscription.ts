import type Stripe from 'stripe';
import type { StripeClient } from '../stripe/stripe-client.js';
import { toSubscriptionState, type SubscriptionState } from './subscription-state.js';

/** The exact parameters of the subscription retrieve (the stripe-mock conformance test sends these): none. */
export const SUBSCRIPTION_RETRIEVE_PARAMS: Stripe.SubscriptionRetrieveParams = {};

/** The items list, when the subscription's embedded list was cut (Stripe embeds the first 10; a subscription holds up to 20). */
export const subscriptionItemsListParams = (subscriptionId: string): Stripe.SubscriptionItemListParams => ({ subscription: subscriptionId, limit: 100 });

/**
 * Stripe's current state of a subscription: one `GET /v1/subscriptions/{id}` (a canceled subscription is still
 * returned, with status `canceled`); a second request only for a subscription with more than 10 items.
 * Throws the SDK's error as is (a 404 is `resource_missing`): the caller decides.
 */
export async function readSubscription(stripe: StripeClient, subscriptionId: string): Promise<SubscriptionState> {
  const sub = await stripe.subscriptions.retrieve(subscriptionId, SUBSCRIPTION_RETRIEVE_PARAMS);
  let items: Stripe.SubscriptionItem[] = sub.items?.data ?? [];
  if (sub.items?.has_more) {
    items = [];
    for await (const item of stripe.subscriptionItems.list(subscriptionItemsListParams(subscriptionId))) items.push(item);
  }
  return toSubscriptionState(sub, items);
}
