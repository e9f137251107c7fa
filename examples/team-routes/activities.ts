/**
 * The billing team's activities: read a routed event's full body from Stripe, and apply its effect once.
 */
import type pg from 'pg';
// Outside this repository: `from 'payconfirm/routes/activities'`.
import { createStripeEventReader, type StripeEventReaderOptions } from '../../src/routes/stripe-event-reader.js';
import type { RoutedStripeEvent } from '../../src/routes/team-workflow.js';

/** The team's own table: one row per Stripe event it acted on. */
export const BILLING_TEAM_SCHEMA = `
  CREATE TABLE IF NOT EXISTS billing_team_events (
    event_id            text PRIMARY KEY,
    event_type          text NOT NULL,
    route               text NOT NULL,
    object_id           text NOT NULL,
    sequence            integer NOT NULL,
    status              text,
    handling            text NOT NULL,
    duplicate_handlings integer NOT NULL DEFAULT 0,
    handled_at          timestamptz NOT NULL DEFAULT now()
  )`;

export interface HandledEvent {
  event: RoutedStripeEvent;
  /** Its place among the object's events (per_object), 1 for a per_event workflow. */
  sequence: number;
  status: string | null;
  /** Which handling this is: the same on every retry of this activity, different for a second handling of the event. */
  handling: string;
}

export function createBillingTeamActivities(deps: { pool: pg.Pool; stripe: StripeEventReaderOptions }) {
  return {
    ...createStripeEventReader(deps.stripe),

    /**
     * The effect, keyed by the Stripe event id: a retry of this activity (the worker died after the INSERT) writes
     * nothing more. A *second handling* of the same event — which payconfirm and handleRoutedEvents exist to prevent —
     * would not write twice either, but is counted in duplicate_handlings, so it shows.
     */
    async recordHandledEvent(h: HandledEvent): Promise<void> {
      await deps.pool.query(
        `INSERT INTO billing_team_events (event_id, event_type, route, object_id, sequence, status, handling)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (event_id) DO UPDATE SET duplicate_handlings = billing_team_events.duplicate_handlings + 1
         WHERE billing_team_events.handling <> EXCLUDED.handling`,
        [h.event.id, h.event.type, h.event.route, h.event.objectId, h.sequence, h.status, h.handling],
      );
    },
  };
}

export type BillingTeamActivities = ReturnType<typeof createBillingTeamActivities>;
