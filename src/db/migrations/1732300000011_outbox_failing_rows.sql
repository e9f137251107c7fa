-- Up Migration
-- The state gauge payconfirm_outbox_failing_rows counts, at every scrape, the outbox rows whose last delivery attempt
-- failed (status pending, attempts > 0; src/state-gauges.ts). Without a receiver configured every row stays pending
-- with no attempt, so the pending index alone would make that count scan the whole outbox: these stay as small as
-- the failures.
CREATE INDEX outgoing_notifications_failing ON outgoing_notifications (seq) WHERE status = 'pending' AND attempts > 0;
CREATE INDEX outgoing_emails_failing ON outgoing_emails (seq) WHERE status = 'pending' AND attempts > 0;

-- Down Migration
DROP INDEX outgoing_emails_failing;
DROP INDEX outgoing_notifications_failing;
