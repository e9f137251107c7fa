import type Stripe from 'stripe';

/**
 * A Stripe subscription as payconfirm keeps it (table `stripe_subscriptions`): the facts a team's services act on,
 * taken from a fresh `GET /v1/subscriptions/{id}`, never from an event body. Workflow-safe (pure; types only from
 * the SDK): the event router checks ids with it, the activity normalises Stripe's answer with it.
 */

/** A Stripe subscription id (`sub_…`). */
export { isSubscriptionId, SUBSCRIPTION_ID } from '../domain/stripe-ids.js';

/** The signal a Stripe event about a subscription sends its workflow (`sub_…`); the event is only a nudge. */
export const SUBSCRIPTION_EVENT_SIGNAL = 'subscriptionEvent';
export interface SubscriptionEventNotice {
  eventId: string;
  eventType: string;
}

/** One item (a price and its quantity). Money: the price's unit amount as an integer of minor units + currency. */
export interface SubscriptionItemState {
  id: string;
  priceId: string;
  productId: string | null;
  /** null for metered prices (no quantity). */
  quantity: number | null;
  /** `price.unit_amount`; null when the price has none in whole minor units (tiered, or a decimal amount). */
  unitAmountMinor: number | null;
  currency: string;
  /** `day`, `week`, `month`, `year`; null for a one-off price. */
  interval: string | null;
  intervalCount: number | null;
  /** Unix seconds (the item's own period: Stripe keeps the billing period on items). */
  currentPeriodStart: number | null;
  currentPeriodEnd: number | null;
}

/** Everything payconfirm keeps of a subscription's state; times in Unix seconds, as Stripe writes them. */
export interface SubscriptionState {
  id: string;
  customerId: string;
  /** `incomplete`, `incomplete_expired`, `trialing`, `active`, `past_due`, `canceled`, `unpaid`, `paused`. */
  status: string;
  currency: string;
  /** In Stripe's order. */
  items: SubscriptionItemState[];
  /** The span of the items' periods: earliest start, latest end (one period on classic billing). */
  currentPeriodStart: number | null;
  currentPeriodEnd: number | null;
  cancelAtPeriodEnd: boolean;
  cancelAt: number | null;
  canceledAt: number | null;
  endedAt: number | null;
  trialEnd: number | null;
  /** Collection paused (the subscription stays `active`): Stripe's `pause_collection`. */
  pauseCollection: { behavior: string; resumesAt: number | null } | null;
  livemode: boolean;
  created: number;
}

const intOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isSafeInteger(v) ? v : null);
const idOf = (v: unknown): string | null => (typeof v === 'string' ? v : v && typeof v === 'object' && typeof (v as { id?: unknown }).id === 'string' ? (v as { id: string }).id : null);

export class MalformedSubscriptionError extends Error {
  override readonly name = 'MalformedSubscriptionError';
}

/**
 * Stripe's subscription (and, when its embedded list was cut, every item) → the state payconfirm keeps. Tolerant of
 * older API versions (subscription-level `current_period_*`); refuses only what it cannot keep at all.
 */
export function toSubscriptionState(sub: Stripe.Subscription, items: readonly Stripe.SubscriptionItem[]): SubscriptionState {
  const customerId = idOf(sub.customer);
  if (!customerId) throw new MalformedSubscriptionError(`subscription ${sub.id} names no customer`);
  if (typeof sub.status !== 'string' || !/^[a-z_]+$/.test(sub.status)) throw new MalformedSubscriptionError(`subscription ${sub.id} has no status`);
  const currency = String(sub.currency ?? '').toLowerCase();
  if (!/^[a-z]{3}$/.test(currency)) throw new MalformedSubscriptionError(`subscription ${sub.id} has no currency`);
  const itemStates = items.map((item): SubscriptionItemState => {
    const price = item.price;
    const raw = item as unknown as Record<string, unknown>;
    return {
      id: item.id,
      priceId: price.id,
      productId: idOf(price.product),
      quantity: intOrNull(item.quantity),
      unitAmountMinor: intOrNull(price.unit_amount),
      currency: String(price.currency).toLowerCase(),
      interval: price.recurring?.interval ?? null,
      intervalCount: intOrNull(price.recurring?.interval_count),
      currentPeriodStart: intOrNull(raw.current_period_start),
      currentPeriodEnd: intOrNull(raw.current_period_end),
    };
  });
  const legacy = sub as unknown as Record<string, unknown>; // before API 2025-03-31 the period was on the subscription
  const starts = itemStates.map((i) => i.currentPeriodStart).filter((t): t is number => t !== null);
  const ends = itemStates.map((i) => i.currentPeriodEnd).filter((t): t is number => t !== null);
  const pause = sub.pause_collection;
  return {
    id: sub.id,
    customerId,
    status: sub.status,
    currency,
    items: itemStates,
    currentPeriodStart: starts.length ? Math.min(...starts) : intOrNull(legacy.current_period_start),
    currentPeriodEnd: ends.length ? Math.max(...ends) : intOrNull(legacy.current_period_end),
    cancelAtPeriodEnd: sub.cancel_at_period_end === true,
    cancelAt: intOrNull(sub.cancel_at),
    canceledAt: intOrNull(sub.canceled_at),
    endedAt: intOrNull(sub.ended_at),
    trialEnd: intOrNull(sub.trial_end),
    pauseCollection: pause ? { behavior: String(pause.behavior), resumesAt: intOrNull(pause.resumes_at) } : null,
    livemode: sub.livemode === true,
    created: intOrNull(sub.created) ?? 0,
  };
}

/**
 * The state in a canonical form (sorted keys, items by id) for its fingerprint: two reads of the same state give
 * the same text, whatever order Stripe lists the items in.
 */
export function canonicalStateText(state: SubscriptionState): string {
  const sorted = { ...state, items: [...state.items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) };
  return JSON.stringify(sortKeys(sorted));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
  }
  return value;
}

const iso = (seconds: number | null): string | null => (seconds === null ? null : new Date(seconds * 1000).toISOString());

/** One item as the API, the CLI's --json and the notification show it (snake_case, ISO times, integer minor units). */
export interface SubscriptionItemView {
  id: string;
  price_id: string;
  product_id: string | null;
  quantity: number | null;
  unit_amount_minor: number | null;
  currency: string;
  interval: string | null;
  interval_count: number | null;
  current_period_start: string | null;
  current_period_end: string | null;
}

export const itemViews = (items: readonly SubscriptionItemState[]): SubscriptionItemView[] =>
  items.map((i) => ({
    id: i.id,
    price_id: i.priceId,
    product_id: i.productId,
    quantity: i.quantity,
    unit_amount_minor: i.unitAmountMinor,
    currency: i.currency,
    interval: i.interval,
    interval_count: i.intervalCount,
    current_period_start: iso(i.currentPeriodStart),
    current_period_end: iso(i.currentPeriodEnd),
  }));

export { iso as isoFromUnixSeconds };

/** The notification type of a subscription change (docs/notifications.md, "Outgoing notifications"). */
export const SUBSCRIPTION_CHANGED = 'subscription.changed';

/**
 * The notification's id (`webhook-id`): the subscription, the version its state reached and the start of that
 * state's fingerprint — the same on every retry and replay, different for every change (also for a state that
 * comes back to an earlier one: its version differs). Receivers deduplicate on it.
 */
export const subscriptionNotificationId = (subscriptionId: string, version: number, fingerprint: string): string =>
  `stripe:subscription:${subscriptionId}:v${version}:${fingerprint.slice(0, 16)}`;

/** A subscription's state as payconfirm shows it, to the API, the CLI and receivers of `subscription.changed` (snake_case, ISO times, money as minor units + currency). */
export interface SubscriptionFacts {
  customer_id: string;
  /** The payconfirm account linked to the customer, if any. */
  account_id: string | null;
  status: string;
  currency: string;
  items: SubscriptionItemView[];
  current_period_start: string | null;
  current_period_end: string | null;
  cancel_at_period_end: boolean;
  cancel_at: string | null;
  canceled_at: string | null;
  ended_at: string | null;
  trial_end: string | null;
  pause_collection: { behavior: string; resumes_at: string | null } | null;
  livemode: boolean;
}

/** `subscription.changed`: one per change of a subscription's state (its creation in payconfirm included). */
export interface SubscriptionChanged {
  type: typeof SUBSCRIPTION_CHANGED;
  /** When payconfirm recorded the change (ISO 8601, UTC). */
  timestamp: string;
  data: {
    subscription_id: string;
    /** 1 for the first state payconfirm saw, +1 per change: order a subscription's notifications by it. */
    version: number;
    /** The status before this change; null for version 1. */
    previous_status: string | null;
  } & SubscriptionFacts & {
    /** The Stripe event that woke the read which saw this state (a hint for people; the read decides). */
    stripe_event_id: string | null;
    /** When Stripe was read. */
    read_at: string;
  };
}

export function subscriptionChangedPayload(input: {
  state: SubscriptionState;
  version: number;
  previousStatus: string | null;
  accountId: string | null;
  lastEventId: string | null;
  readAt: Date;
  changedAt: Date;
}): SubscriptionChanged {
  const s = input.state;
  return {
    type: SUBSCRIPTION_CHANGED,
    timestamp: input.changedAt.toISOString(),
    data: {
      subscription_id: s.id,
      version: input.version,
      previous_status: input.previousStatus,
      customer_id: s.customerId,
      account_id: input.accountId,
      status: s.status,
      currency: s.currency,
      items: itemViews(s.items),
      current_period_start: iso(s.currentPeriodStart),
      current_period_end: iso(s.currentPeriodEnd),
      cancel_at_period_end: s.cancelAtPeriodEnd,
      cancel_at: iso(s.cancelAt),
      canceled_at: iso(s.canceledAt),
      ended_at: iso(s.endedAt),
      trial_end: iso(s.trialEnd),
      pause_collection: s.pauseCollection ? { behavior: s.pauseCollection.behavior, resumes_at: iso(s.pauseCollection.resumesAt) } : null,
      livemode: s.livemode,
      stripe_event_id: input.lastEventId,
      read_at: input.readAt.toISOString(),
    },
  };
}
