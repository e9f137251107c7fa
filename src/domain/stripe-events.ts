import { EVENT_ID, PAYMENT_INTENT_ID } from './stripe-ids.js';
import { isSubscriptionId } from './stripe-ids.js';

/**
 * Stripe webhook events: the shape payconfirm accepts, the facts it keeps, and where each type goes.
 * Workflow-safe (pure): the webhook route validates with it, the event workflow routes with it.
 */

/** What payconfirm keeps of an event: enough to route it and to find it again (never the whole body). */
export interface StripeEventSummary {
  id: string;
  type: string;
  /** Seconds since the epoch, as Stripe writes `created`. */
  created: number;
  livemode: boolean;
  apiVersion: string | null;
  /** `data.object.id` and `data.object.object` (e.g. `pi_…`, `payment_intent`). */
  objectId: string;
  objectType: string | null;
  /** The PaymentIntent the event is about, when its type names one (see paymentIntentOf). */
  paymentIntentId: string | null;
  /** Checkout sessions only: `paid`, `unpaid` or `no_payment_required`. */
  paymentStatus: string | null;
}

export type EventShapeCheck = { ok: true; summary: StripeEventSummary } | { ok: false; problem: string };

/** Event types that change money on a PaymentIntent: the payment workflow is started if it does not run. */
export const PAYMENT_START_TYPES: readonly string[] = [
  'payment_intent.succeeded',
  'checkout.session.completed',
  'checkout.session.async_payment_succeeded',
];

/**
 * Events about money that moves after the credit: refunds (pending, succeeded, failed, canceled) and disputes
 * (funds withdrawn, reinstated, closed). Each wakes the payment workflow (started if none runs), which re-reads
 * Stripe and applies the movements it lacks: the event is only a nudge.
 */
export const MONEY_MOVED_TYPES: readonly string[] = [
  'charge.refunded',
  'charge.refund.updated',
  'refund.created',
  'refund.updated',
  'refund.failed',
  'charge.dispute.created',
  'charge.dispute.updated',
  'charge.dispute.closed',
  'charge.dispute.funds_withdrawn',
  'charge.dispute.funds_reinstated',
];

/** Events that only nudge a payment workflow already waiting on the PaymentIntent (it re-reads Stripe). */
export const INFORM_TYPES: readonly string[] = [
  'payment_intent.processing',
  'payment_intent.payment_failed',
  'payment_intent.canceled',
  'checkout.session.async_payment_failed',
];

/**
 * Events about a Stripe subscription (`data.object` is the subscription): each wakes the subscription's workflow
 * `sub_…` (started if none runs), which reads the subscription fresh and keeps `stripe_subscriptions` in step.
 */
export const SUBSCRIPTION_EVENT_TYPES: readonly string[] = [
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'customer.subscription.paused',
  'customer.subscription.resumed',
  'customer.subscription.pending_update_applied',
  'customer.subscription.pending_update_expired',
  'customer.subscription.trial_will_end',
];

/**
 * Every type payconfirm acts on: the webhook endpoint's subscription, and the `types[]` filter of the backfill's
 * `GET /v1/events` (Stripe takes up to 20 there: the backfill lists them in groups, eventTypeGroups). Any other type
 * is recorded as `ignored`.
 */
export const HANDLED_EVENT_TYPES: readonly string[] = [...PAYMENT_START_TYPES, ...MONEY_MOVED_TYPES, ...INFORM_TYPES, ...SUBSCRIPTION_EVENT_TYPES];

/** Stripe's largest `types[]` filter of `GET /v1/events`. */
export const MAX_EVENT_TYPES_PER_LIST = 20;

/** The handled types in groups Stripe's `types[]` filter takes (at most 20 each), in order: one listing per group. */
export function eventTypeGroups(types: readonly string[] = HANDLED_EVENT_TYPES, max = MAX_EVENT_TYPES_PER_LIST): string[][] {
  const groups: string[][] = [];
  for (let i = 0; i < types.length; i += max) groups.push(types.slice(i, i + max));
  return groups;
}

/**
 * The types payconfirm's payment routing takes (credit, refunds, disputes, and the nudges of a waiting payment). A
 * team route may not claim them: money moves through the payment workflow and its ledger keys only, and a team that
 * wants to know about a movement gets it from the outgoing notifications (one per ledger movement, keyed by it),
 * not from an event body that may come late, twice or out of order. It also keeps the payment path as it is: an
 * event of these types never waits on a route lookup.
 */
export const PAYMENT_EVENT_TYPES: readonly string[] = [...PAYMENT_START_TYPES, ...MONEY_MOVED_TYPES, ...INFORM_TYPES];

export const isPaymentEventType = (type: string): boolean => PAYMENT_EVENT_TYPES.includes(type);

/** Where the event workflow left an event: its final inbox status and an outcome `code: detail` for people. */
export interface EventOutcome {
  status: 'processed' | 'ignored' | 'failed';
  outcome: string;
  lastError?: string | null;
}

export type EventRoute =
  | { action: 'payment'; paymentIntentId: string; startIfMissing: true }
  | { action: 'inform'; paymentIntentId: string }
  | { action: 'subscription'; subscriptionId: string }
  | { action: 'ignore'; why: string };

const EVENT_TYPE = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/;
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks a parsed webhook body is a Stripe event payconfirm can record: `id` (evt_…), `type`, `created`,
 * `livemode`, `data.object` with an `id`, and — for the types that name a PaymentIntent — a well-formed one.
 */
export function summariseStripeEvent(body: unknown): EventShapeCheck {
  if (!isRecord(body)) return { ok: false, problem: 'the body must be a JSON object' };
  const { id, type, created, livemode, api_version: apiVersion, data } = body;
  if (typeof id !== 'string' || !EVENT_ID.test(id)) return { ok: false, problem: 'id must be a Stripe event id (evt_…)' };
  if (typeof type !== 'string' || !EVENT_TYPE.test(type)) return { ok: false, problem: 'type must be a Stripe event type (e.g. payment_intent.succeeded)' };
  if (typeof created !== 'number' || !Number.isSafeInteger(created) || created <= 0) return { ok: false, problem: 'created must be a Unix timestamp' };
  if (typeof livemode !== 'boolean') return { ok: false, problem: 'livemode must be a boolean' };
  if (apiVersion !== undefined && apiVersion !== null && typeof apiVersion !== 'string') return { ok: false, problem: 'api_version must be a string' };
  if (!isRecord(data) || !isRecord(data.object)) return { ok: false, problem: 'data.object must be an object' };
  const object = data.object;
  if (typeof object.id !== 'string' || object.id.length === 0) return { ok: false, problem: 'data.object.id must be a string' };
  const paymentIntent = paymentIntentOf(type, object);
  if (!paymentIntent.ok) return paymentIntent;
  return {
    ok: true,
    summary: {
      id,
      type,
      created,
      livemode,
      apiVersion: apiVersion ?? null,
      objectId: object.id,
      objectType: typeof object.object === 'string' ? object.object : null,
      paymentIntentId: paymentIntent.id,
      paymentStatus: type.startsWith('checkout.session.') && typeof object.payment_status === 'string' ? object.payment_status : null,
    },
  };
}

/**
 * Where a type keeps its PaymentIntent id: `payment_intent.*` → the object itself; checkout sessions, charges and
 * refunds → `object.payment_intent` (a string, or null for sessions without a payment and legacy charges).
 */
function paymentIntentOf(type: string, object: Record<string, unknown>): { ok: true; id: string | null } | { ok: false; problem: string } {
  if (type.startsWith('payment_intent.')) {
    return PAYMENT_INTENT_ID.test(String(object.id)) ? { ok: true, id: String(object.id) } : { ok: false, problem: `${type} must carry a PaymentIntent (pi_…) in data.object.id` };
  }
  if (type.startsWith('checkout.session.') || type.startsWith('charge.') || type.startsWith('refund.')) {
    const ref = object.payment_intent;
    if (ref === undefined || ref === null) return { ok: true, id: null };
    const id = isRecord(ref) ? ref.id : ref; // an expanded PaymentIntent carries its id
    return typeof id === 'string' && PAYMENT_INTENT_ID.test(id)
      ? { ok: true, id }
      : { ok: false, problem: 'data.object.payment_intent must be a PaymentIntent id (pi_…) or null' };
  }
  return { ok: true, id: null };
}

/** What the event workflow does with an event. Pure: the same event always routes the same way. */
export function routeStripeEvent(e: StripeEventSummary): EventRoute {
  if (!HANDLED_EVENT_TYPES.includes(e.type)) return { action: 'ignore', why: `event type ${e.type} is not handled` };
  if (SUBSCRIPTION_EVENT_TYPES.includes(e.type)) {
    return isSubscriptionId(e.objectId) ? { action: 'subscription', subscriptionId: e.objectId } : { action: 'ignore', why: `${e.type} names no subscription (sub_…)` };
  }
  if (!e.paymentIntentId) return { action: 'ignore', why: `${e.type} names no PaymentIntent` };
  if (INFORM_TYPES.includes(e.type)) return { action: 'inform', paymentIntentId: e.paymentIntentId };
  if (e.type === 'checkout.session.completed' && e.paymentStatus !== 'paid') {
    // Delayed payment methods complete the session unpaid; checkout.session.async_payment_succeeded follows.
    return { action: 'ignore', why: `checkout session completed with payment_status ${e.paymentStatus ?? 'missing'}` };
  }
  return { action: 'payment', paymentIntentId: e.paymentIntentId, startIfMissing: true };
}
