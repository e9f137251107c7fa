import { eventTypeGroups, HANDLED_EVENT_TYPES, isPaymentEventType, PAYMENT_EVENT_TYPES } from '../domain/stripe-events.js';

/**
 * Team routes' pure rules: which event types a route pattern takes, which types stay payconfirm's alone, and what
 * the backfill lists. Workflow-safe (pure): the event workflow and the relay's start use them too.
 */


/** An exact type (`customer.created`) or a prefix wildcard (`customer.subscription.*`). */
export const EVENT_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*(\.\*)?$/;

export const isWildcard = (pattern: string): boolean => pattern.endsWith('.*');

/** `customer.subscription.*` takes `customer.subscription.updated` and `customer.subscription.trial_will_end`, not `customer.subscriptionx`. */
export function matchesEventPattern(pattern: string, type: string): boolean {
  return isWildcard(pattern) ? type.startsWith(pattern.slice(0, -1)) : type === pattern;
}

/** The payment types a pattern would take (empty: the pattern is allowed in a route). */
export const paymentTypesCoveredBy = (pattern: string): string[] => PAYMENT_EVENT_TYPES.filter((t) => matchesEventPattern(pattern, t));

/** Whether an event may go to team routes at all: any type but the payment routing's. */
export const isTeamRoutable = (type: string): boolean => !isPaymentEventType(type);

/** What a route needs for matching; the routes file's full route (src/routes/routes-file.ts) is one. */
export interface RoutePatterns {
  name: string;
  events: readonly string[];
}

/** The routes that take this event type, in file order (several may: each gets the event). */
export function routesForEventType<R extends RoutePatterns>(routes: readonly R[], type: string): R[] {
  if (!isTeamRoutable(type)) return [];
  return routes.filter((r) => r.events.some((p) => matchesEventPattern(p, type)));
}

/**
 * The `types[]` groups the backfill lists (`GET /v1/events`, one listing per group over the same window): payconfirm's
 * own groups first, unchanged (`eventTypeGroups`), then the routes' exact types payconfirm does not handle, in more
 * groups of at most 20, then one group per route wildcard — a group of a single `prefix.*` is listed with Stripe's
 * `type` filter, which takes a wildcard (`types[]` takes exact names only). An event two listings find is inserted
 * once (the inbox's key).
 */
export function backfillTypeGroups(routes: readonly RoutePatterns[]): string[][] {
  const patterns = [...new Set(routes.flatMap((r) => r.events))];
  const prefixOf = (w: string) => w.slice(0, -1);
  // A wildcard inside a broader one (customer.subscription.* in customer.*) adds nothing to the listing.
  const wildcards = patterns.filter((w) => isWildcard(w) && !patterns.some((o) => o !== w && isWildcard(o) && prefixOf(w).startsWith(prefixOf(o))));
  const exact = patterns.filter((p) => !isWildcard(p) && !HANDLED_EVENT_TYPES.includes(p) && !wildcards.some((w) => matchesEventPattern(w, p)));
  return [...eventTypeGroups(), ...(exact.length ? eventTypeGroups(exact) : []), ...wildcards.map((w) => [w])];
}

/** A backfill group listed with Stripe's `type` filter (one wildcard) rather than `types[]`. */
export const wildcardGroup = (types: readonly string[]): string | null => (types.length === 1 && isWildcard(types[0]!) ? types[0]! : null);
