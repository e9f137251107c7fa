/**
 * Subscriptions in the fake: the object shapes (API 2025-03-31 and later: the billing period lives on the items),
 * a store with the moves tests make (create, update, renew, cancel), and the API view Stripe answers with (the
 * embedded items list holds the first 10, `has_more` beyond; `GET /v1/subscription_items` lists them all).
 * A canceled subscription stays retrievable, with status `canceled`, as on Stripe.
 */
import { newId, unixSeconds } from './ids.js';
import { list } from './pagination.js';
import { resourceMissing } from './stripe-errors.js';
import type { ListObject, Metadata } from './stripe-objects.js';

export type SubscriptionStatus = 'incomplete' | 'incomplete_expired' | 'trialing' | 'active' | 'past_due' | 'canceled' | 'unpaid' | 'paused';

export type PriceInterval = 'day' | 'week' | 'month' | 'year';

export interface PriceObject {
  id: string;
  object: 'price';
  active: boolean;
  billing_scheme: 'per_unit';
  created: number;
  currency: string;
  livemode: false;
  metadata: Metadata;
  product: string;
  recurring: { interval: PriceInterval; interval_count: number; meter: null; usage_type: 'licensed' };
  type: 'recurring';
  unit_amount: number | null;
  unit_amount_decimal: string | null;
}

export interface SubscriptionItemObject {
  id: string;
  object: 'subscription_item';
  created: number;
  current_period_end: number;
  current_period_start: number;
  discounts: string[];
  metadata: Metadata;
  price: PriceObject;
  quantity: number;
  subscription: string;
  tax_rates: unknown[];
}

export interface SubscriptionObject {
  id: string;
  object: 'subscription';
  billing_cycle_anchor: number;
  cancel_at: number | null;
  cancel_at_period_end: boolean;
  canceled_at: number | null;
  collection_method: 'charge_automatically';
  created: number;
  currency: string;
  customer: string;
  ended_at: number | null;
  items: ListObject<SubscriptionItemObject>;
  latest_invoice: string | null;
  livemode: false;
  metadata: Metadata;
  pause_collection: { behavior: 'keep_as_draft' | 'mark_uncollectible' | 'void'; resumes_at: number | null } | null;
  start_date: number;
  status: SubscriptionStatus;
  trial_end: number | null;
  trial_start: number | null;
}

export interface SubscriptionItemInit {
  /** Default: a new `price_…`. */
  price?: string;
  product?: string;
  /** Integer minor units; null: a price with no whole unit amount. Default 1000. */
  unitAmount?: number | null;
  /** Default: the subscription's currency. */
  currency?: string;
  /** Default `month`. */
  interval?: PriceInterval;
  intervalCount?: number;
  /** Default 1. */
  quantity?: number;
}

export interface SubscriptionSetup {
  id?: string;
  customer: string;
  /** At least one. */
  items: SubscriptionItemInit[];
  /** Default `active` (`trialing` with trialDays). */
  status?: SubscriptionStatus;
  /** Default `usd`. */
  currency?: string;
  /** Starts a trial of this many days (status `trialing`, `trial_end`). */
  trialDays?: number;
  metadata?: Metadata;
}

export interface SubscriptionChanges {
  status?: SubscriptionStatus;
  cancelAtPeriodEnd?: boolean;
  /** Replaces every item (new item ids), as a plan change does. */
  items?: SubscriptionItemInit[];
  /** Sets the quantity of the first item. */
  quantity?: number;
  pauseCollection?: SubscriptionObject['pause_collection'];
  metadata?: Metadata;
}

/** Stripe embeds this many items in a subscription; the rest are behind `has_more`. */
export const EMBEDDED_ITEMS = 10;
const DAY = 86_400;

/** `start` moved on by `count` intervals, in UTC calendar terms for months and years. */
export function addInterval(start: number, interval: PriceInterval, count: number): number {
  if (interval === 'day') return start + count * DAY;
  if (interval === 'week') return start + count * 7 * DAY;
  const d = new Date(start * 1000);
  if (interval === 'month') d.setUTCMonth(d.getUTCMonth() + count);
  else d.setUTCFullYear(d.getUTCFullYear() + count);
  return Math.floor(d.getTime() / 1000);
}

function buildItem(subscriptionId: string, currency: string, init: SubscriptionItemInit, periodStart: number): SubscriptionItemObject {
  const interval = init.interval ?? 'month';
  const intervalCount = init.intervalCount ?? 1;
  const created = unixSeconds();
  const unitAmount = init.unitAmount === undefined ? 1_000 : init.unitAmount;
  return {
    id: newId('si'),
    object: 'subscription_item',
    created,
    current_period_end: addInterval(periodStart, interval, intervalCount),
    current_period_start: periodStart,
    discounts: [],
    metadata: {},
    price: {
      id: init.price ?? newId('price'),
      object: 'price',
      active: true,
      billing_scheme: 'per_unit',
      created,
      currency: (init.currency ?? currency).toLowerCase(),
      livemode: false,
      metadata: {},
      product: init.product ?? newId('prod'),
      recurring: { interval, interval_count: intervalCount, meter: null, usage_type: 'licensed' },
      type: 'recurring',
      unit_amount: unitAmount,
      unit_amount_decimal: unitAmount === null ? null : String(unitAmount),
    },
    quantity: init.quantity ?? 1,
    subscription: subscriptionId,
    tax_rates: [],
  };
}

/** Subscriptions the fake holds (live objects: hand out views or copies). */
export class SubscriptionStore {
  private readonly subscriptions = new Map<string, SubscriptionObject>();

  /** `requireCustomer`: the state's check that a customer exists (a 400 on `customer` otherwise). */
  constructor(private readonly requireCustomer: (id: string) => void) {}

  create(setup: SubscriptionSetup): SubscriptionObject {
    this.requireCustomer(setup.customer);
    if (setup.items.length === 0) throw new Error('fake-stripe: a subscription needs at least one item');
    const id = setup.id ?? newId('sub');
    if (this.subscriptions.has(id)) throw new Error(`fake-stripe: a subscription with id ${id} already exists`);
    const now = unixSeconds();
    const currency = (setup.currency ?? 'usd').toLowerCase();
    const trialEnd = setup.trialDays === undefined ? null : now + setup.trialDays * DAY;
    const items = setup.items.map((init) => buildItem(id, currency, init, now));
    const sub: SubscriptionObject = {
      id,
      object: 'subscription',
      billing_cycle_anchor: now,
      cancel_at: null,
      cancel_at_period_end: false,
      canceled_at: null,
      collection_method: 'charge_automatically',
      created: now,
      currency,
      customer: setup.customer,
      ended_at: null,
      items: list(items, false, `/v1/subscription_items?subscription=${id}`),
      latest_invoice: null,
      livemode: false,
      metadata: { ...setup.metadata },
      pause_collection: null,
      start_date: now,
      status: setup.status ?? (trialEnd === null ? 'active' : 'trialing'),
      trial_end: trialEnd,
      trial_start: trialEnd === null ? null : now,
    };
    this.subscriptions.set(id, sub);
    return sub;
  }

  find(id: string): SubscriptionObject | undefined {
    return this.subscriptions.get(id);
  }

  require(id: string): SubscriptionObject {
    const sub = this.subscriptions.get(id);
    if (sub === undefined) throw resourceMissing('subscription', id, 'id');
    return sub;
  }

  update(id: string, changes: SubscriptionChanges): SubscriptionObject {
    const sub = this.require(id);
    if (sub.status === 'canceled') throw new Error(`fake-stripe: subscription ${id} is canceled; it cannot change`);
    if (changes.status !== undefined) sub.status = changes.status;
    if (changes.cancelAtPeriodEnd !== undefined) {
      sub.cancel_at_period_end = changes.cancelAtPeriodEnd;
      sub.cancel_at = changes.cancelAtPeriodEnd ? Math.max(...sub.items.data.map((i) => i.current_period_end)) : null;
    }
    if (changes.items !== undefined) {
      const start = Math.min(...sub.items.data.map((i) => i.current_period_start));
      sub.items.data = changes.items.map((init) => buildItem(id, sub.currency, init, start));
    }
    if (changes.quantity !== undefined) sub.items.data[0]!.quantity = changes.quantity;
    if (changes.pauseCollection !== undefined) sub.pause_collection = changes.pauseCollection;
    if (changes.metadata !== undefined) sub.metadata = { ...sub.metadata, ...changes.metadata };
    return sub;
  }

  /** The next billing period: every item's period moves on by its interval. */
  renew(id: string): SubscriptionObject {
    const sub = this.require(id);
    for (const item of sub.items.data) {
      item.current_period_start = item.current_period_end;
      item.current_period_end = addInterval(item.current_period_end, item.price.recurring.interval, item.price.recurring.interval_count);
    }
    return sub;
  }

  /** `DELETE /v1/subscriptions/:id`: canceled now; Stripe still returns it, with status `canceled`. */
  cancel(id: string): SubscriptionObject {
    const sub = this.require(id);
    if (sub.status === 'canceled') throw new Error(`fake-stripe: subscription ${id} is already canceled`);
    const now = unixSeconds();
    sub.status = 'canceled';
    sub.canceled_at = now;
    sub.ended_at = now;
    sub.cancel_at_period_end = false;
    return sub;
  }

  items(subscriptionId: string): SubscriptionItemObject[] {
    return this.require(subscriptionId).items.data;
  }
}

/** The subscription as the API shows it: the first EMBEDDED_ITEMS items, `has_more` when there are more. */
export function subscriptionView(sub: SubscriptionObject): SubscriptionObject {
  const all = sub.items.data;
  return { ...sub, items: list(all.slice(0, EMBEDDED_ITEMS), all.length > EMBEDDED_ITEMS, sub.items.url) };
}
