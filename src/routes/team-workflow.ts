import type { Duration } from '@temporalio/common';
import { condition, continueAsNew, defineSignal, setHandler, workflowInfo } from '@temporalio/workflow';

/**
 * `payconfirm/routes`: what a team's own workflow gets from a payconfirm route (PAYCONFIRM_ROUTES_FILE), and a
 * helper for per-object workflows. Workflow-safe: import it from workflow code (it needs only @temporalio/workflow).
 *
 * - `per_event` route: payconfirm starts `workflow_type` once per Stripe event, workflow id `<route>/<evt_…>`, with
 *   one argument, a {@link RoutedStripeEvent}.
 * - `per_object` route: payconfirm signal-with-starts `workflow_type`, workflow id `<route>/<object id>` (e.g.
 *   `billing-sync/sub_…`), with one argument, a {@link RoutedObjectInput}, and the signal `signal` (default
 *   `stripeEvent`) carrying a {@link RoutedStripeEvent}. {@link handleRoutedEvents} hands those events to your
 *   handler one at a time, in the order they reached the workflow, each event id once.
 *
 * Neither carries the event body: read it with `payconfirm/routes/activities` (`GET /v1/events/{id}` with your
 * Stripe key), or better, read the object's current state from Stripe (events come late and out of order).
 */

/** One Stripe event as a route delivers it (JSON; the same for a workflow in any Temporal SDK). */
export interface RoutedStripeEvent {
  /** The Stripe event id (`evt_…`): payconfirm forwards each once; deduplicate on it. */
  id: string;
  /** e.g. `customer.subscription.updated`. */
  type: string;
  /** Seconds since the epoch, Stripe's `created`. */
  created: number;
  livemode: boolean;
  apiVersion: string | null;
  /** `data.object.id` and `data.object.object` (e.g. `sub_…`, `subscription`). */
  objectId: string;
  objectType: string | null;
  /** The route's `name` in the routes file. */
  route: string;
}

/** The start argument of a `per_object` route's workflow. */
export interface RoutedObjectInput {
  route: string;
  objectId: string;
  objectType: string | null;
  /** The signal events arrive on (the route's `signal`). */
  signal: string;
  /** Set by {@link handleRoutedEvents} when it continues as new: what it must not forget. */
  carried?: CarriedRouteState;
}

export interface CarriedRouteState {
  /** The most recent event ids taken (oldest first), at most `rememberEventIds`. */
  seenEventIds: string[];
  /** Events received and not handled yet, in arrival order. */
  pending: RoutedStripeEvent[];
  /** Events handled by this chain of runs so far. */
  handled: number;
}

/**
 * The failure type `readStripeEvent` (`payconfirm/routes/activities`) gives for an event Stripe will never return
 * (400, 404: older than its 30 days): a workflow handles the event without its body, or skips it.
 */
export const STRIPE_EVENT_UNREADABLE = 'StripeEventUnreadable';

/** The signal name payconfirm uses when a route names none. */
export const STRIPE_EVENT_SIGNAL = 'stripeEvent';

export const stripeEventSignal = defineSignal<[RoutedStripeEvent]>(STRIPE_EVENT_SIGNAL);

export interface RoutedEventContext {
  /** 1 for the first event this workflow (across continue-as-new) handles, then 2, 3… */
  sequence: number;
}

export interface HandleRoutedEventsOptions {
  /**
   * With no event for this long, the workflow ends (a later event starts a new run). Default 30 days. Its memory of
   * event ids ends with it: an event replayed by an operator after that is handled again, so give durable effects
   * the event id as their idempotency key. `null`: never ends.
   */
  idleTimeout?: Duration | null;
  /** How many recent event ids are remembered to drop duplicates (carried across continue-as-new). Default 10,000. */
  rememberEventIds?: number;
  /** Continue as new after this many history events (or when Temporal suggests it). Default 10,000. */
  historyLimit?: number;
}

/**
 * The body of a `per_object` route's workflow: registers the route's signal, drops an event id it has seen,
 * and awaits `handler` for each other event, one at a time, in arrival order — the next event waits until the
 * previous handler settled. Continues as new (carrying the seen ids and the queue) when the history grows, and
 * returns when idle for `idleTimeout`. A handler that throws fails the workflow like any workflow code; give its
 * activities a retry policy without an attempt limit (Temporal's default) so a failing dependency waits instead.
 *
 * ```ts
 * export async function billingSyncWorkflow(input: RoutedObjectInput): Promise<void> {
 *   await handleRoutedEvents(input, async (event) => { await syncSubscription(event.objectId, event.id); });
 * }
 * ```
 */
export async function handleRoutedEvents(
  input: RoutedObjectInput,
  handler: (event: RoutedStripeEvent, context: RoutedEventContext) => Promise<void>,
  options: HandleRoutedEventsOptions = {},
): Promise<{ handled: number }> {
  const remember = options.rememberEventIds ?? 10_000;
  const historyLimit = options.historyLimit ?? 10_000;
  const idleTimeout = options.idleTimeout === undefined ? '30 days' : options.idleTimeout;
  const seen = new Set<string>(input.carried?.seenEventIds ?? []);
  const pending: RoutedStripeEvent[] = [...(input.carried?.pending ?? [])];
  let handled = input.carried?.handled ?? 0;

  setHandler(defineSignal<[RoutedStripeEvent]>(input.signal || STRIPE_EVENT_SIGNAL), (event) => {
    if (seen.has(event.id)) return; // a retried forward or a replay: taken already
    seen.add(event.id);
    while (seen.size > remember) seen.delete(seen.values().next().value!);
    pending.push(event);
  });

  for (;;) {
    if (pending.length === 0) {
      const woken = idleTimeout === null ? (await condition(() => pending.length > 0), true) : await condition(() => pending.length > 0, idleTimeout);
      // An event that came with the timer's end is still handled: the workflow only ends with nothing queued.
      if (!woken && pending.length === 0) return { handled };
      continue;
    }
    const event = pending.shift()!;
    handled += 1;
    await handler(event, { sequence: handled });
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength >= historyLimit) {
      await continueAsNew<(i: RoutedObjectInput) => Promise<unknown>>({ ...input, carried: { seenEventIds: [...seen], pending: [...pending], handled } });
    }
  }
}
