-- Up Migration
-- The webhook inbox: one row per Stripe event id, written ON CONFLICT DO NOTHING by POST /webhooks/stripe.
-- It makes a 200 durable even while Temporal is down (a relay starts the event workflow later), keeps
-- deduplication after Temporal's history retention, and answers "what happened to evt_X" in SQL.
--
-- status: received   → recorded; the relay has not started the event workflow yet
--         dispatched → event workflow evt_… started (or found already started)
--         processed  → the workflow delivered it to its payment workflow (outcome says how)
--         ignored    → nothing to do for this event (outcome says why)
--         failed     → the workflow could not deliver it (last_error says why); an operator looks
CREATE TABLE stripe_webhook_events (
  event_id             text PRIMARY KEY CHECK (event_id ~ '^evt_[A-Za-z0-9_]+$'),
  event_type           text NOT NULL,
  livemode             boolean NOT NULL,
  api_version          text,
  stripe_created_at    timestamptz,
  payment_intent_id    text CHECK (payment_intent_id ~ '^pi_[A-Za-z0-9_]+$'),
  payload              jsonb NOT NULL,
  status               text NOT NULL DEFAULT 'received'
                       CHECK (status IN ('received', 'dispatched', 'processed', 'ignored', 'failed')),
  outcome              text,
  last_error           text,
  -- how many times a relay tried to start the event workflow
  attempts             integer NOT NULL DEFAULT 0,
  -- a relay holds a claimed row until then; an expired claim (relay crashed) is claimed again
  dispatch_lease_until timestamptz,
  received_at          timestamptz NOT NULL DEFAULT now(),
  dispatched_at        timestamptz,
  processed_at         timestamptz
);

CREATE INDEX stripe_webhook_events_awaiting_dispatch ON stripe_webhook_events (received_at) WHERE status = 'received';
CREATE INDEX stripe_webhook_events_received_at ON stripe_webhook_events (received_at);
CREATE INDEX stripe_webhook_events_by_payment_intent ON stripe_webhook_events (payment_intent_id) WHERE payment_intent_id IS NOT NULL;

-- Down Migration
DROP TABLE stripe_webhook_events;
