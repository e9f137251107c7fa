-- Up Migration
-- Scheduled scans bounded by the rows they need, not by the size of the table (issue 19, item 6).
--
-- The reconcile's "PaymentIntents active since T" (src/reconcile/active-payment-intents.ts) walks each source in its
-- own time order with a keyset cursor: one index range scan per page, from the cursor, in the lookback window only.
--   * ledger_entries had no index on created_at: every page was a sequential scan of the whole ledger.
--   * the (received_at) and (decided_at) indexes are the leading columns of the new keyset ones: dropped.
-- INCLUDE (payment_intent_id): the walk is an index-only scan (the ledger is append-only, so its pages stay all-visible).
CREATE INDEX ledger_entries_activity ON ledger_entries (created_at, seq) INCLUDE (payment_intent_id)
  WHERE payment_intent_id IS NOT NULL;

CREATE INDEX stripe_webhook_events_activity ON stripe_webhook_events (received_at, event_id) INCLUDE (payment_intent_id);
DROP INDEX stripe_webhook_events_received_at;

CREATE INDEX payment_decisions_activity ON payment_decisions (decided_at, id) INCLUDE (payment_intent_id);
DROP INDEX payment_decisions_by_time;
-- "Did this PaymentIntent have a decision in the window": every decision, not only the lasting ones (a partial unique index).
CREATE INDEX payment_decisions_by_payment_intent ON payment_decisions (payment_intent_id, decided_at);

-- The hourly prune deletes finished rows past retention in batches. On (received_at) alone every batch walked again,
-- from the oldest, past the failed and dead rows that are kept until an operator acts; this index holds only the
-- prunable ones.
CREATE INDEX stripe_webhook_events_prunable ON stripe_webhook_events (received_at) WHERE status IN ('processed', 'ignored');

-- Down Migration
DROP INDEX stripe_webhook_events_prunable;
DROP INDEX payment_decisions_by_payment_intent;
CREATE INDEX payment_decisions_by_time ON payment_decisions (decided_at);
DROP INDEX payment_decisions_activity;
CREATE INDEX stripe_webhook_events_received_at ON stripe_webhook_events (received_at);
DROP INDEX stripe_webhook_events_activity;
DROP INDEX ledger_entries_activity;
