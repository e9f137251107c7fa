-- Up Migration
-- The webhook inbox: one row per Stripe event id. It makes a 200 durable even while Temporal is down
-- (a relay starts the workflow later), keeps deduplication after Temporal's history retention, and
-- answers "what happened to evt_X" in SQL.
CREATE TABLE stripe_webhook_events (
  event_id          text PRIMARY KEY CHECK (event_id ~ '^evt_[A-Za-z0-9_]+$'),
  event_type        text NOT NULL,
  livemode          boolean NOT NULL,
  api_version       text,
  stripe_created_at timestamptz,
  payload           jsonb NOT NULL,
  status            text NOT NULL DEFAULT 'received'
                    CHECK (status IN ('received', 'dispatched', 'processed', 'ignored', 'failed')),
  outcome           text,
  last_error        text,
  attempts          integer NOT NULL DEFAULT 0,
  received_at       timestamptz NOT NULL DEFAULT now(),
  dispatched_at     timestamptz,
  processed_at      timestamptz
);

CREATE INDEX stripe_webhook_events_awaiting_dispatch ON stripe_webhook_events (received_at) WHERE status = 'received';
CREATE INDEX stripe_webhook_events_received_at ON stripe_webhook_events (received_at);

-- Down Migration
DROP TABLE stripe_webhook_events;
