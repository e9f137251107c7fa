import { Context } from '@temporalio/activity';
import type Stripe from 'stripe';
import { advanceBackfillCursor, readBackfillCursor } from '../src/db/stripe-event-backfill-cursor.js';
import type { Pool } from '../src/db/pool.js';
import { insertInboxEvent } from '../src/db/webhook-inbox.js';
import { planBackfillWindow, type BackfillPageResult, type BackfillWindow } from '../src/domain/stripe-event-backfill.js';
import { eventTypeGroups, summariseStripeEvent } from '../src/domain/stripe-events.js';
import { backfillTypeGroups, wildcardGroup, type RoutePatterns } from '../src/routes/route-matching.js';
import type { Metrics } from '../src/metrics.js';
import type { StripeClient } from '../src/stripe/stripe-client.js';
import { toActivityFailure } from './stripe-activity-failure.js';

export interface StripeEventPageInput {
  /** `created[gte]`, Unix seconds. */
  fromCreated: number;
  /** The previous page's last event id (`starting_after`); null for the first page. */
  startingAfter: string | null;
  limit: number;
  /** This listing's `types[]` (one group of the window's typeGroups, at most 20); absent: the first group. */
  types?: readonly string[];
}

/**
 * The exact `GET /v1/events` parameters of one backfill page (the stripe-mock conformance test sends these). A group
 * of one team route wildcard (`customer.*`, src/routes/route-matching.ts) goes as `type`, the filter that takes one.
 */
export const stripeEventPageParams = (input: StripeEventPageInput): Stripe.EventListParams => ({
  created: { gte: input.fromCreated },
  ...typeFilter(input.types ?? eventTypeGroups()[0]!),
  limit: input.limit,
  ...(input.startingAfter !== null ? { starting_after: input.startingAfter } : {}),
});

const typeFilter = (types: readonly string[]): Pick<Stripe.EventListParams, 'type' | 'types'> => {
  const wildcard = wildcardGroup(types);
  return wildcard !== null ? { type: wildcard } : { types: [...types] };
};

/**
 * The backfill's Postgres-only steps, on the main task queue (workflows/stripe-event-backfill-workflow.ts). `routes`:
 * the team routes (PAYCONFIRM_ROUTES_FILE), whose types are listed too, in groups after payconfirm's.
 */
export function createStripeEventBackfillCursorActivities({ pool, routes = [] }: { pool: Pool; routes?: readonly RoutePatterns[] }) {
  return {
    /** Reads the cursor and decides the run's window (its clock is the run's start). */
    async planStripeEventBackfill(input: { sinceCreated: number | null; lookbackDays: number }): Promise<BackfillWindow> {
      const cursor = await readBackfillCursor(pool);
      const window = planBackfillWindow({ nowSeconds: Math.floor(Date.now() / 1000), cursor, sinceCreated: input.sinceCreated, lookbackDays: input.lookbackDays });
      return { ...window, typeGroups: backfillTypeGroups(routes) };
    },

    /** Moves the cursor (never backwards); returns where it stands. */
    async advanceStripeEventBackfillCursor(input: { listedThrough: number }): Promise<number> {
      return advanceBackfillCursor(pool, input.listedThrough);
    },
  };
}

export interface StripeEventPageActivityDeps {
  stripe: StripeClient;
  pool: Pool;
  metrics?: Metrics;
  /** Where a skipped (malformed) event is reported; default: the activity's logger. */
  warn?: (message: string, attrs: Record<string, unknown>) => void;
}

/**
 * One backfill page, on the Stripe task queue (a page is one request, taken from the Stripe request budget every
 * process shares, src/stripe/stripe-request-budget.ts): `GET /v1/events` (handled types, `created[gte]`, up to 100,
 * after the previous page), then every event the inbox lacks is inserted as a webhook delivery would insert it —
 * `insertInboxEvent`, ON CONFLICT DO NOTHING — and the relay dispatches it. Idempotent: a retry lists the same page
 * and finds its events present. The events never enter Temporal's history, only the counts.
 */
export function createStripeEventPageActivities({
  stripe,
  pool,
  metrics,
  warn = (message, attrs) => Context.current().log.warn(message, attrs),
}: StripeEventPageActivityDeps) {
  return {
    async listStripeEventPage(input: StripeEventPageInput): Promise<BackfillPageResult> {
      const page = await stripe.events.list(stripeEventPageParams(input)).catch((err: unknown) => Promise.reject(toActivityFailure(err, 'list events')));
      const result: BackfillPageResult = {
        listed: page.data.length,
        inserted: 0,
        alreadyPresent: 0,
        malformed: 0,
        lastEventId: page.data.at(-1)?.id ?? null,
        newestCreated: page.data.length ? Math.max(...page.data.map((e) => e.created)) : null,
        hasMore: page.has_more,
      };
      for (const event of page.data) {
        const shape = summariseStripeEvent(event);
        if (!shape.ok) {
          result.malformed++;
          metrics?.stripeEventsBackfilled.inc({ result: 'malformed' });
          warn('backfill skipped an event payconfirm cannot record', { eventId: event.id, eventType: event.type, problem: shape.problem });
          continue;
        }
        const recorded = await insertInboxEvent(pool, shape.summary, JSON.stringify(event), 'backfill');
        if (recorded === 'inserted') result.inserted++;
        else result.alreadyPresent++;
        metrics?.stripeEventsBackfilled.inc({ result: recorded === 'inserted' ? 'inserted' : 'present' });
      }
      return result;
    },
  };
}

export type StripeEventBackfillCursorActivities = ReturnType<typeof createStripeEventBackfillCursorActivities>;
export type StripeEventPageActivities = ReturnType<typeof createStripeEventPageActivities>;
