-- Up Migration
-- The books of a payment after its credit: refund and dispute movements, the Stripe customer-balance mirror,
-- and operator decisions that last. As in the ledger migration, the rules live in SQL:
--   * every movement kind has one key shape, made from Stripe ids only (CHECK constraints below);
--   * every movement of a PaymentIntent after its credit goes to the account of record, the credit's account
--     (trigger ledger_entries_account_of_record); none comes before the credit;
--   * one mirror record per ledger movement, naming the Stripe balance transaction that mirrors it, with the
--     opposite amount (Stripe counts a customer credit as negative);
--   * an operator's reject and the payment's credit exclude each other, whichever commits first wins
--     (both take the PaymentIntent's advisory lock).

ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check CHECK (kind IN (
  'payment_credit', 'refund_debit', 'refund_reversal', 'dispute_debit', 'dispute_reversal', 'admin_credit', 'admin_debit'));

ALTER TABLE ledger_entries ADD COLUMN stripe_dispute_id text CHECK (stripe_dispute_id ~ '^(dp|du)_[A-Za-z0-9_]+$');

ALTER TABLE ledger_entries ADD CONSTRAINT refund_reversal_shape CHECK (kind <> 'refund_reversal' OR (
  amount_minor > 0 AND payment_intent_id IS NOT NULL AND stripe_refund_id IS NOT NULL
  AND idempotency_key = 'stripe:refund:' || stripe_refund_id || ':reversal'));
ALTER TABLE ledger_entries ADD CONSTRAINT dispute_debit_shape CHECK (kind <> 'dispute_debit' OR (
  amount_minor < 0 AND payment_intent_id IS NOT NULL AND stripe_dispute_id IS NOT NULL
  AND idempotency_key = 'stripe:dispute:' || stripe_dispute_id));
ALTER TABLE ledger_entries ADD CONSTRAINT dispute_reversal_shape CHECK (kind <> 'dispute_reversal' OR (
  amount_minor > 0 AND payment_intent_id IS NOT NULL AND stripe_dispute_id IS NOT NULL
  AND idempotency_key = 'stripe:dispute:' || stripe_dispute_id || ':reversal'));

-- Operator decisions about a payment. reject, resolve and skip_mirror last: one of each per PaymentIntent,
-- read by every later path (webhook runs, confirm, reconcile, runs after history retention). retry is kept
-- for the audit trail only. Rows are never changed.
CREATE TABLE payment_decisions (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  payment_intent_id text NOT NULL CHECK (payment_intent_id ~ '^pi_[A-Za-z0-9_]+$'),
  decision          text NOT NULL CHECK (decision IN ('reject', 'resolve', 'skip_mirror', 'retry')),
  account_id        uuid REFERENCES accounts (id),
  reason            text,
  -- what the payment waited for when the operator decided (an attention reason)
  attention_reason  text,
  decided_at        timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT resolve_names_account CHECK (decision <> 'resolve' OR account_id IS NOT NULL),
  CONSTRAINT reject_has_reason CHECK (decision NOT IN ('reject', 'skip_mirror') OR length(trim(reason)) > 0)
);
CREATE UNIQUE INDEX payment_decisions_lasting ON payment_decisions (payment_intent_id, decision)
  WHERE decision IN ('reject', 'resolve', 'skip_mirror');
CREATE INDEX payment_decisions_by_time ON payment_decisions (decided_at);

CREATE TRIGGER payment_decisions_append_only BEFORE UPDATE OR DELETE ON payment_decisions
  FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only();

-- The mirror: one Stripe customer balance transaction per ledger movement of a PaymentIntent.
CREATE TABLE ledger_mirror (
  movement_key           text PRIMARY KEY REFERENCES ledger_entries (idempotency_key),
  ledger_entry_id        uuid NOT NULL UNIQUE REFERENCES ledger_entries (id),
  stripe_customer_id     text NOT NULL CHECK (stripe_customer_id ~ '^cus_[A-Za-z0-9]+$'),
  balance_transaction_id text NOT NULL UNIQUE CHECK (balance_transaction_id ~ '^cbtxn_[A-Za-z0-9_]+$'),
  -- Stripe's sign: the opposite of the ledger movement's
  amount_minor           bigint NOT NULL CHECK (amount_minor <> 0),
  currency               text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
  recorded_at            timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION ledger_mirror_matches_movement() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
  movement ledger_entries%ROWTYPE;
BEGIN
  SELECT * INTO movement FROM ledger_entries WHERE id = NEW.ledger_entry_id;
  IF movement.idempotency_key <> NEW.movement_key OR movement.amount_minor <> -NEW.amount_minor
     OR movement.currency <> NEW.currency OR movement.payment_intent_id IS NULL THEN
    RAISE EXCEPTION 'mirror record for % does not mirror its ledger movement', NEW.movement_key USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER ledger_mirror_matches_movement BEFORE INSERT ON ledger_mirror
  FOR EACH ROW EXECUTE FUNCTION ledger_mirror_matches_movement();
CREATE TRIGGER ledger_mirror_append_only BEFORE UPDATE OR DELETE ON ledger_mirror
  FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only();

-- A mirror transaction found missing on Stripe (by reconcile) and made again: the newest repair is the movement's
-- mirror from then on. Append-only, so the lost transaction stays on record.
CREATE TABLE ledger_mirror_repairs (
  id                          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  movement_key                text NOT NULL REFERENCES ledger_mirror (movement_key),
  lost_balance_transaction_id text NOT NULL,
  balance_transaction_id      text NOT NULL UNIQUE CHECK (balance_transaction_id ~ '^cbtxn_[A-Za-z0-9_]+$'),
  repaired_at                 timestamptz NOT NULL DEFAULT now(),
  UNIQUE (movement_key, lost_balance_transaction_id)
);
CREATE TRIGGER ledger_mirror_repairs_append_only BEFORE UPDATE OR DELETE ON ledger_mirror_repairs
  FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only();

-- Account of record and reject/credit exclusion, serialised per PaymentIntent by an advisory lock.
CREATE FUNCTION ledger_entries_account_of_record() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
  credit_account uuid;
BEGIN
  IF NEW.payment_intent_id IS NULL THEN
    RETURN NEW;
  END IF;
  PERFORM pg_advisory_xact_lock(hashtextextended('payconfirm:payment:' || NEW.payment_intent_id, 0));
  IF NEW.kind = 'payment_credit' THEN
    IF EXISTS (SELECT 1 FROM payment_decisions WHERE payment_intent_id = NEW.payment_intent_id AND decision = 'reject') THEN
      RAISE EXCEPTION 'payment % was rejected by an operator: no credit', NEW.payment_intent_id USING ERRCODE = 'P0001', HINT = 'payment_rejected';
    END IF;
    RETURN NEW;
  END IF;
  SELECT account_id INTO credit_account FROM ledger_entries WHERE payment_intent_id = NEW.payment_intent_id AND kind = 'payment_credit';
  IF credit_account IS NULL THEN
    RAISE EXCEPTION 'movement % of payment % comes before its credit', NEW.idempotency_key, NEW.payment_intent_id USING ERRCODE = 'P0001', HINT = 'no_credit';
  END IF;
  IF credit_account <> NEW.account_id THEN
    RAISE EXCEPTION 'movement % of payment % must go to its account of record %', NEW.idempotency_key, NEW.payment_intent_id, credit_account
      USING ERRCODE = 'P0001', HINT = 'account_of_record';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER ledger_entries_account_of_record BEFORE INSERT ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION ledger_entries_account_of_record();

CREATE FUNCTION payment_decisions_reject_before_credit() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  IF NEW.decision IN ('reject', 'resolve') THEN
    PERFORM pg_advisory_xact_lock(hashtextextended('payconfirm:payment:' || NEW.payment_intent_id, 0));
    IF EXISTS (SELECT 1 FROM ledger_entries WHERE payment_intent_id = NEW.payment_intent_id AND kind = 'payment_credit') THEN
      RAISE EXCEPTION 'payment % is already credited: % refused', NEW.payment_intent_id, NEW.decision USING ERRCODE = 'P0001', HINT = 'already_credited';
    END IF;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER payment_decisions_reject_before_credit BEFORE INSERT ON payment_decisions
  FOR EACH ROW EXECUTE FUNCTION payment_decisions_reject_before_credit();

-- Down Migration
DROP TABLE ledger_mirror_repairs;
DROP TABLE ledger_mirror;
DROP FUNCTION ledger_mirror_matches_movement();
DROP TRIGGER ledger_entries_account_of_record ON ledger_entries;
DROP FUNCTION ledger_entries_account_of_record();
DROP TABLE payment_decisions;
DROP FUNCTION payment_decisions_reject_before_credit();
ALTER TABLE ledger_entries DROP CONSTRAINT refund_reversal_shape, DROP CONSTRAINT dispute_debit_shape, DROP CONSTRAINT dispute_reversal_shape;
ALTER TABLE ledger_entries DROP COLUMN stripe_dispute_id;
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check CHECK (kind IN ('payment_credit', 'refund_debit', 'admin_credit', 'admin_debit'));
