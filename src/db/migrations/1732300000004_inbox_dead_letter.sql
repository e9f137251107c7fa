-- Up Migration
-- Dead letters and replays of the webhook inbox.
--
-- A row whose event workflow Temporal refuses to start (the row's own fault: the server answered and said no) is
-- retried with a backoff of its own (next_attempt_at), so it never holds up fresh rows, and after
-- WEBHOOK_RELAY_MAX_ATTEMPTS refusals (refused_starts) it becomes `dead`: kept with its last error for an
-- operator, who replays it. A Temporal outage is nobody's row's fault: the relay backs off as a whole and counts
-- no refusal (`attempts` still counts every claim).
--
-- status: dead → the relay gave up starting the event workflow (last_error says why); `payconfirm events replay`
--                starts it again
ALTER TABLE stripe_webhook_events DROP CONSTRAINT stripe_webhook_events_status_check;
ALTER TABLE stripe_webhook_events ADD CONSTRAINT stripe_webhook_events_status_check
  CHECK (status IN ('received', 'dispatched', 'processed', 'ignored', 'failed', 'dead'));
-- starts of the row's event workflow that Temporal refused; the relay does not claim the row before next_attempt_at
ALTER TABLE stripe_webhook_events ADD COLUMN refused_starts integer NOT NULL DEFAULT 0;
ALTER TABLE stripe_webhook_events ADD COLUMN next_attempt_at timestamptz;
-- how many times an operator replayed the event, and when last
ALTER TABLE stripe_webhook_events ADD COLUMN replay_count integer NOT NULL DEFAULT 0;
ALTER TABLE stripe_webhook_events ADD COLUMN replayed_at timestamptz;

CREATE INDEX stripe_webhook_events_dead ON stripe_webhook_events (received_at) WHERE status IN ('dead', 'failed');

-- Down Migration
DROP INDEX stripe_webhook_events_dead;
UPDATE stripe_webhook_events SET status = 'failed' WHERE status = 'dead';
ALTER TABLE stripe_webhook_events DROP COLUMN replayed_at;
ALTER TABLE stripe_webhook_events DROP COLUMN replay_count;
ALTER TABLE stripe_webhook_events DROP COLUMN next_attempt_at;
ALTER TABLE stripe_webhook_events DROP COLUMN refused_starts;
ALTER TABLE stripe_webhook_events DROP CONSTRAINT stripe_webhook_events_status_check;
ALTER TABLE stripe_webhook_events ADD CONSTRAINT stripe_webhook_events_status_check
  CHECK (status IN ('received', 'dispatched', 'processed', 'ignored', 'failed'));
