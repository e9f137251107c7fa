-- Up Migration
-- The relay dispatches payment events first: dispatch_order 0 for the types payconfirm's payment routing takes
-- (credits, refunds, disputes, the nudges of a waiting payment), 1 for every other type (subscriptions, team
-- routes). A burst of 10,000 customer.subscription.updated then never sits between a customer's payment and its
-- credit: oldest first within each order.
ALTER TABLE stripe_webhook_events ADD COLUMN dispatch_order smallint NOT NULL DEFAULT 0 CHECK (dispatch_order IN (0, 1));
DROP INDEX stripe_webhook_events_awaiting_dispatch;
CREATE INDEX stripe_webhook_events_awaiting_dispatch ON stripe_webhook_events (dispatch_order, received_at) WHERE status = 'received';

-- Down Migration
DROP INDEX stripe_webhook_events_awaiting_dispatch;
CREATE INDEX stripe_webhook_events_awaiting_dispatch ON stripe_webhook_events (received_at) WHERE status = 'received';
ALTER TABLE stripe_webhook_events DROP COLUMN dispatch_order;
