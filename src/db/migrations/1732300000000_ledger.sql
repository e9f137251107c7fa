-- Up Migration
-- Accounts, API keys, balances and the append-only ledger.
-- The rules that keep money right live here, in SQL, so no code path can skip them:
--   * a ledger row is the only way a balance moves (trigger ledger_entries_move_balance, same transaction);
--   * one explicit idempotency key per ledger row (UNIQUE), never a reused business reference;
--   * at most one payment credit per Stripe PaymentIntent (partial UNIQUE index);
--   * ledger rows are never updated or deleted (trigger ledger_entries_append_only).

CREATE TABLE accounts (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name               text,
  stripe_customer_id text NOT NULL UNIQUE CHECK (stripe_customer_id ~ '^cus_[A-Za-z0-9]+$'),
  created_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  account_id  uuid NOT NULL REFERENCES accounts (id),
  key_hash    bytea NOT NULL UNIQUE, -- SHA-256 of the secret; the secret itself is shown once and never stored
  key_prefix  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);

CREATE TABLE balances (
  account_id   uuid NOT NULL REFERENCES accounts (id),
  currency     text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
  amount_minor bigint NOT NULL DEFAULT 0,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, currency)
);

CREATE TABLE ledger_entries (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  seq               bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  account_id        uuid NOT NULL REFERENCES accounts (id),
  currency          text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
  amount_minor      bigint NOT NULL CHECK (amount_minor <> 0),
  kind              text NOT NULL CHECK (kind IN ('payment_credit', 'refund_debit', 'admin_credit', 'admin_debit')),
  idempotency_key   text NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 8 AND 255),
  payment_intent_id text CHECK (payment_intent_id ~ '^pi_[A-Za-z0-9_]+$'),
  stripe_refund_id  text CHECK (stripe_refund_id ~ '^(re|pyr)_[A-Za-z0-9_]+$'),
  reference         text, -- free text for people; never used to deduplicate
  created_at        timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT payment_credit_shape CHECK (kind <> 'payment_credit' OR (
    amount_minor > 0 AND payment_intent_id IS NOT NULL AND idempotency_key = 'stripe:payment_intent:' || payment_intent_id)),
  CONSTRAINT refund_debit_shape CHECK (kind <> 'refund_debit' OR (
    amount_minor < 0 AND payment_intent_id IS NOT NULL AND stripe_refund_id IS NOT NULL
    AND idempotency_key = 'stripe:refund:' || stripe_refund_id))
);

CREATE UNIQUE INDEX ledger_one_credit_per_payment_intent ON ledger_entries (payment_intent_id) WHERE kind = 'payment_credit';
CREATE INDEX ledger_entries_by_account ON ledger_entries (account_id, seq DESC);
CREATE INDEX ledger_entries_by_payment_intent ON ledger_entries (payment_intent_id) WHERE payment_intent_id IS NOT NULL;

-- AFTER INSERT fires only for rows really inserted: an INSERT … ON CONFLICT DO NOTHING that skips a
-- duplicate moves no balance (the bug of a BEFORE trigger or of "update balance, then insert").
CREATE FUNCTION ledger_entries_move_balance() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  INSERT INTO balances (account_id, currency, amount_minor, updated_at)
  VALUES (NEW.account_id, NEW.currency, NEW.amount_minor, now())
  ON CONFLICT (account_id, currency)
  DO UPDATE SET amount_minor = balances.amount_minor + EXCLUDED.amount_minor, updated_at = now();
  RETURN NULL;
END $$;

CREATE TRIGGER ledger_entries_move_balance AFTER INSERT ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION ledger_entries_move_balance();

CREATE FUNCTION ledger_entries_append_only() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  RAISE EXCEPTION 'ledger_entries is append-only: % refused', TG_OP USING ERRCODE = 'restrict_violation';
END $$;

CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only();

-- Balances move only through the ledger trigger above.
CREATE FUNCTION balances_guard() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  IF pg_trigger_depth() < 2 THEN
    RAISE EXCEPTION 'balances change only through ledger_entries: % refused', TG_OP USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;

CREATE TRIGGER balances_guard BEFORE INSERT OR UPDATE OR DELETE ON balances
  FOR EACH ROW EXECUTE FUNCTION balances_guard();

-- Down Migration
DROP TABLE ledger_entries;
DROP FUNCTION ledger_entries_move_balance();
DROP FUNCTION ledger_entries_append_only();
DROP TABLE balances;
DROP FUNCTION balances_guard();
DROP TABLE api_keys;
DROP TABLE accounts;
