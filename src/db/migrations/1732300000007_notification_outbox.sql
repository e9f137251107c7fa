-- Up Migration
-- The outbox of outgoing notifications: one row per notification the team's services must get, written in the
-- transaction of the change it tells about, delivered at least once by the deliverer in the worker process
-- (src/notifications/deliverer.ts), signed per the Standard Webhooks spec.
--
--   * id is the notification's `webhook-id`: stable across retries and replays, so receivers deduplicate on it. A
--     ledger movement's is its idempotency key (`stripe:payment_intent:pi_…`, `api:debit:…`, `admin:adjust:…`).
--   * Every ledger movement gets its notification from the AFTER INSERT trigger below, in the movement's own
--     transaction: no code path can write a movement without it, a rolled-back movement leaves none, and an
--     INSERT … ON CONFLICT DO NOTHING that skips a duplicate movement fires no trigger (as for the balance).
--   * Anything else (subscription changes, later) enqueues with enqueue_outgoing_notification(id, type, payload)
--     inside its own transaction (src/notifications/outbox.ts: enqueueNotification).
--   * An id enqueued again changes nothing (ON CONFLICT DO NOTHING): one notification per id, ever. A ledger
--     movement lost and written again under its key (reconcile --fix) is the same movement: no second notification.
--
-- status: pending   → to deliver when next_attempt_at comes (a deliverer holds it while lease_until is ahead)
--         delivered → the endpoint answered 2xx
--         dead      → NOTIFICATION_MAX_ATTEMPTS attempts failed, or the endpoint answered 410 Gone; kept for an
--                     operator: `payconfirm notifications replay` makes it pending again
CREATE TABLE outgoing_notifications (
  id               text PRIMARY KEY CHECK (id ~ '^[!-~]{1,255}$'),
  seq              bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  type             text NOT NULL CHECK (type ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
  -- the body sent, exactly (Standard Webhooks shape: {type, timestamp, data}); never a secret
  payload          jsonb NOT NULL,
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
  -- delivery attempts made (since the last replay)
  attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  -- a deliverer's claim: until then no other takes the row; the token makes a late answer from an expired claim
  -- write nothing
  lease_until      timestamptz,
  lease_token      uuid,
  last_attempt_at  timestamptz,
  last_status_code integer,
  last_error       text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  delivered_at     timestamptz,
  dead_at          timestamptz,
  replay_count     integer NOT NULL DEFAULT 0 CHECK (replay_count >= 0),
  replayed_at      timestamptz
);

CREATE INDEX outgoing_notifications_due ON outgoing_notifications (next_attempt_at, seq) WHERE status = 'pending';
CREATE INDEX outgoing_notifications_by_status ON outgoing_notifications (status, seq DESC);

-- The one way to enqueue, in the caller's transaction. true: enqueued now; false: the id was already there.
CREATE FUNCTION enqueue_outgoing_notification(p_id text, p_type text, p_payload jsonb) RETURNS boolean
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  INSERT INTO outgoing_notifications (id, type, payload) VALUES (p_id, p_type, p_payload)
  ON CONFLICT (id) DO NOTHING;
  RETURN FOUND;
END $$;

-- `ledger.movement.created`: every ledger movement, whatever wrote it. Money as integer minor units + currency.
CREATE FUNCTION ledger_entries_enqueue_notification() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
  at text := to_char(NEW.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
BEGIN
  PERFORM enqueue_outgoing_notification(NEW.idempotency_key, 'ledger.movement.created', jsonb_build_object(
    'type', 'ledger.movement.created',
    'timestamp', at,
    'data', jsonb_build_object(
      'ledger_entry_id', NEW.id,
      'seq', NEW.seq,
      'account_id', NEW.account_id,
      'kind', NEW.kind,
      'amount_minor', NEW.amount_minor,
      'currency', NEW.currency,
      'idempotency_key', NEW.idempotency_key,
      'payment_intent_id', NEW.payment_intent_id,
      'stripe_refund_id', NEW.stripe_refund_id,
      'stripe_dispute_id', NEW.stripe_dispute_id,
      'reference', NEW.reference,
      'metadata', NEW.metadata,
      'created_at', at)));
  RETURN NULL;
END $$;

CREATE TRIGGER ledger_entries_enqueue_notification AFTER INSERT ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION ledger_entries_enqueue_notification();

-- Down Migration
DROP TRIGGER ledger_entries_enqueue_notification ON ledger_entries;
DROP FUNCTION ledger_entries_enqueue_notification();
DROP FUNCTION enqueue_outgoing_notification(text, text, jsonb);
DROP TABLE outgoing_notifications;
