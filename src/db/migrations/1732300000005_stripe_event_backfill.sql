-- Up Migration
-- The Stripe event backfill (workflows/stripe-event-backfill-workflow.ts): a Temporal Schedule lists
-- GET /v1/events (handled types only) and inserts into the inbox every event it lacks, exactly as a webhook
-- delivery would (same table, same primary key, ON CONFLICT DO NOTHING), so an endpoint outage loses nothing.
--
-- The cursor: one row. `listed_through` is a Stripe `created` instant such that every handled event created at or
-- before it (and after the first run's lookback) has been listed and is in the inbox. Each scheduled run lists
-- from listed_through − overlap (late-visible events), and at its end moves it to the newest `created` it saw, never
-- later than its own start − a settle margin, never backwards.
CREATE TABLE stripe_event_backfill_cursor (
  name            text PRIMARY KEY CHECK (name = 'stripe_events'),
  listed_through  timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Where an inbox row came from: a webhook delivery, or the backfill (an event the endpoint never got).
ALTER TABLE stripe_webhook_events ADD COLUMN source text NOT NULL DEFAULT 'webhook' CHECK (source IN ('webhook', 'backfill'));

-- Down Migration
ALTER TABLE stripe_webhook_events DROP COLUMN source;
DROP TABLE stripe_event_backfill_cursor;
