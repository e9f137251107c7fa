-- Up Migration
-- Stripe subscriptions as payconfirm keeps them: one row per subscription, written only from a fresh
-- `GET /v1/subscriptions/{id}` by the subscription's workflow (`sub_…`, workflows/subscription-workflow.ts), never
-- from an event body. Events only wake the workflow; the read decides (src/subscriptions/subscription-store.ts).
--
--   * Order: a Stripe object carries no version, and an event's `created` is not the object's state. What orders
--     two writes is the order of their reads: every read takes a ticket from stripe_subscription_read_tickets
--     *before* it asks Stripe, and a write whose ticket is not newer than the row's is dropped. A late writer (an
--     activity attempt that timed out and finished after its retry) can never put an older read over a newer one.
--     (A read that started first but reached Stripe last loses too: it saw a change after the newer ticket's read,
--     and that change's own event wakes another pass, which reads again.)
--   * version counts the changes of the state (state_fingerprint: SHA-256 of its canonical form): a read that finds
--     the same state (a duplicate event, a retry, trial_will_end) only moves read_ticket/read_at/last_event_id.
--     Each change enqueues one `subscription.changed` notification in the same transaction.
--   * account_id: the payconfirm account linked to the customer (accounts.stripe_customer_id), set on every write
--     and by the trigger below when the account is created after the subscription was first seen.
CREATE SEQUENCE stripe_subscription_read_tickets;

CREATE TABLE stripe_subscriptions (
  id                   text PRIMARY KEY CHECK (id ~ '^sub_[A-Za-z0-9_]+$'),
  customer_id          text NOT NULL CHECK (customer_id <> ''),
  account_id           uuid REFERENCES accounts (id),
  status               text NOT NULL CHECK (status ~ '^[a-z_]+$'),
  currency             text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
  -- [{id, price_id, product_id, quantity, unit_amount_minor, currency, interval, interval_count,
  --   current_period_start, current_period_end}]: money as integer minor units + currency
  items                jsonb NOT NULL CHECK (jsonb_typeof(items) = 'array'),
  current_period_start timestamptz,
  current_period_end   timestamptz,
  cancel_at_period_end boolean NOT NULL,
  cancel_at            timestamptz,
  canceled_at          timestamptz,
  ended_at             timestamptz,
  trial_end            timestamptz,
  -- {behavior, resumes_at} while collection is paused, else null
  pause_collection     jsonb,
  livemode             boolean NOT NULL,
  stripe_created       timestamptz NOT NULL,
  state_fingerprint    text NOT NULL CHECK (state_fingerprint ~ '^[0-9a-f]{64}$'),
  version              integer NOT NULL CHECK (version >= 1),
  -- the ticket of the read this row holds (see above); only a larger one may overwrite it
  read_ticket          bigint NOT NULL,
  -- when that read was made, and the event that woke it (a hint for people, not a source of state)
  read_at              timestamptz NOT NULL,
  last_event_id        text CHECK (last_event_id ~ '^evt_'),
  created_at           timestamptz NOT NULL DEFAULT now(),
  -- when version last moved
  changed_at           timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX stripe_subscriptions_by_customer ON stripe_subscriptions (customer_id, stripe_created DESC, id DESC);
CREATE INDEX stripe_subscriptions_by_account ON stripe_subscriptions (account_id) WHERE account_id IS NOT NULL;

-- An account created after its customer's subscriptions were first seen takes them at once (no Stripe event needed).
CREATE FUNCTION accounts_link_stripe_subscriptions() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  UPDATE stripe_subscriptions SET account_id = NEW.id WHERE customer_id = NEW.stripe_customer_id AND account_id IS NULL;
  RETURN NULL;
END $$;

CREATE TRIGGER accounts_link_stripe_subscriptions AFTER INSERT ON accounts
  FOR EACH ROW EXECUTE FUNCTION accounts_link_stripe_subscriptions();

-- Down Migration
DROP TRIGGER accounts_link_stripe_subscriptions ON accounts;
DROP FUNCTION accounts_link_stripe_subscriptions();
DROP TABLE stripe_subscriptions;
DROP SEQUENCE stripe_subscription_read_tickets;
