-- Up Migration
-- Money-moving POSTs of the API (spend credits, …) are idempotent by the caller's Idempotency-Key, as Stripe's are.
-- One row per (account, key): the request's hash, and once answered its response, replayed for the same request.
-- The work and its stored response commit in one transaction where the work is local (the ledger), so a crash can
-- never leave "applied but not recorded"; a request in flight holds a lease, which a crashed holder lets expire.
CREATE TABLE idempotency_keys (
  account_id      uuid NOT NULL REFERENCES accounts (id),
  idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
  request_method  text NOT NULL,
  request_path    text NOT NULL,
  request_hash    bytea NOT NULL,
  -- set while a request holds the key; cleared when its response is stored
  lock_token      uuid,
  locked_until    timestamptz,
  response_status integer CHECK (response_status BETWEEN 200 AND 499),
  response_body   jsonb,
  created_at      timestamptz NOT NULL DEFAULT now(),
  expires_at      timestamptz NOT NULL,
  PRIMARY KEY (account_id, idempotency_key),
  CONSTRAINT answered_or_held CHECK ((response_status IS NULL) = (lock_token IS NOT NULL))
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

-- Spending credits: a usage debit, keyed by the caller's Idempotency-Key (never by its free-text reference).
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check CHECK (kind IN (
  'payment_credit', 'refund_debit', 'refund_reversal', 'dispute_debit', 'dispute_reversal', 'usage_debit', 'admin_credit', 'admin_debit'));
ALTER TABLE ledger_entries ADD CONSTRAINT usage_debit_shape CHECK (kind <> 'usage_debit' OR (
  amount_minor < 0 AND payment_intent_id IS NULL AND idempotency_key LIKE 'api:debit:%'));
ALTER TABLE ledger_entries ADD COLUMN metadata jsonb;

-- Down Migration
ALTER TABLE ledger_entries DROP COLUMN metadata;
ALTER TABLE ledger_entries DROP CONSTRAINT usage_debit_shape;
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check CHECK (kind IN (
  'payment_credit', 'refund_debit', 'refund_reversal', 'dispute_debit', 'dispute_reversal', 'admin_credit', 'admin_debit'));
DROP TABLE idempotency_keys;
