-- Up Migration
-- Holds: money an API caller asked to give back (a refund through POST /billing/refunds) is reserved on the account
-- before Stripe is asked, so nobody can spend it meanwhile nor refund what was already spent (invariant 11).
-- As a two-phase transfer: a hold is `held` (pending), then `settled` by the refund's own ledger movement (posted:
-- the refund debit moves the balance, the hold stops counting — never a second debit) or `released` (voided: Stripe
-- refused the refund). Available = balance − the account's held holds; debits and refund holds both check it while
-- holding the balance row's lock (SELECT … FOR UPDATE), so concurrent requests of one account queue up.
-- Invariant 1 is untouched: balances still move only through ledger_entries; a hold is not money moved.
CREATE TABLE balance_holds (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- derived from the caller's Idempotency-Key (src/domain/idempotency-keys.ts): one hold per refund request, ever
  hold_key          text NOT NULL UNIQUE CHECK (hold_key LIKE 'api:refund-hold:%'),
  account_id        uuid NOT NULL REFERENCES accounts (id),
  currency          text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
  amount_minor      bigint NOT NULL CHECK (amount_minor > 0),
  payment_intent_id text NOT NULL CHECK (payment_intent_id ~ '^pi_[A-Za-z0-9_]+$'),
  stripe_refund_id  text CHECK (stripe_refund_id ~ '^(re|pyr)_[A-Za-z0-9_]+$'),
  status            text NOT NULL DEFAULT 'held' CHECK (status IN ('held', 'settled', 'released')),
  settled_by_entry  uuid REFERENCES ledger_entries (id),
  created_at        timestamptz NOT NULL DEFAULT now(),
  closed_at         timestamptz,
  CONSTRAINT closed_unless_held CHECK ((status = 'held') = (closed_at IS NULL)),
  CONSTRAINT settled_names_entry CHECK ((status = 'settled') = (settled_by_entry IS NOT NULL))
);
CREATE INDEX balance_holds_open ON balance_holds (account_id, currency) WHERE status = 'held';
-- The payment's books name its open holds, so a refund that failed at Stripe before its debit releases its hold.
-- Accounts in debt (a refund outside the API, a lost dispute): the state gauge payconfirm_accounts_in_debt counts them.
CREATE INDEX balances_in_debt ON balances (account_id) WHERE amount_minor < 0;
CREATE INDEX balance_holds_open_by_payment ON balance_holds (payment_intent_id) WHERE status = 'held';

-- held → settled | released, once; the money fields never change. Learning the refund id later is allowed.
CREATE FUNCTION balance_holds_transition() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  IF NEW.account_id <> OLD.account_id OR NEW.currency <> OLD.currency OR NEW.amount_minor <> OLD.amount_minor
     OR NEW.hold_key <> OLD.hold_key OR NEW.payment_intent_id <> OLD.payment_intent_id
     OR (OLD.stripe_refund_id IS NOT NULL AND NEW.stripe_refund_id IS DISTINCT FROM OLD.stripe_refund_id) THEN
    RAISE EXCEPTION 'hold % may not change what it holds', OLD.id USING ERRCODE = 'restrict_violation';
  END IF;
  IF OLD.status <> 'held' AND NEW.status <> OLD.status THEN
    RAISE EXCEPTION 'hold % is % already; refused %', OLD.id, OLD.status, NEW.status USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER balance_holds_transition BEFORE UPDATE ON balance_holds
  FOR EACH ROW EXECUTE FUNCTION balance_holds_transition();
CREATE TRIGGER balance_holds_no_delete BEFORE DELETE ON balance_holds
  FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only();

-- The refund's debit settles its hold in the same transaction: the refund carries the hold's id in its Stripe
-- metadata (`payconfirm_hold`), which the payment workflow copies onto the ledger row. Compared as text, so a
-- hand-edited metadata value can never fail the money movement; a hold already closed is left alone.
CREATE FUNCTION ledger_entries_settle_hold() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  UPDATE balance_holds
     SET status = 'settled', closed_at = now(), settled_by_entry = NEW.id,
         stripe_refund_id = COALESCE(stripe_refund_id, NEW.stripe_refund_id)
   WHERE id::text = NEW.metadata->>'payconfirm_hold' AND status = 'held'
     AND account_id = NEW.account_id AND currency = NEW.currency;
  RETURN NULL;
END $$;
CREATE TRIGGER ledger_entries_settle_hold AFTER INSERT ON ledger_entries
  FOR EACH ROW WHEN (NEW.kind = 'refund_debit' AND NEW.metadata ? 'payconfirm_hold')
  EXECUTE FUNCTION ledger_entries_settle_hold();

-- Idempotency-Keys as Stripe keeps them: a request whose work calls out (a refund) first stores the exact Stripe
-- request it will send (its parameters, its Stripe Idempotency-Key, the hold it made): the recovery point. A 5xx or a
-- 429 then never ends the key: the row stays unanswered and unheld, and a retry with the same key replays exactly
-- that request, so a lost answer gets the same refund back from Stripe.
ALTER TABLE idempotency_keys ADD COLUMN recovery jsonb;
ALTER TABLE idempotency_keys DROP CONSTRAINT answered_or_held;
ALTER TABLE idempotency_keys ADD CONSTRAINT answered_not_held CHECK (response_status IS NULL OR lock_token IS NULL);
ALTER TABLE idempotency_keys ADD CONSTRAINT held_with_lease CHECK ((lock_token IS NULL) = (locked_until IS NULL));
ALTER TABLE idempotency_keys ADD CONSTRAINT unheld_has_recovery CHECK (response_status IS NOT NULL OR lock_token IS NOT NULL OR recovery IS NOT NULL);

-- Down Migration
ALTER TABLE idempotency_keys DROP CONSTRAINT unheld_has_recovery;
ALTER TABLE idempotency_keys DROP CONSTRAINT held_with_lease;
ALTER TABLE idempotency_keys DROP CONSTRAINT answered_not_held;
DELETE FROM idempotency_keys WHERE response_status IS NULL AND lock_token IS NULL;
ALTER TABLE idempotency_keys ADD CONSTRAINT answered_or_held CHECK ((response_status IS NULL) = (lock_token IS NOT NULL));
ALTER TABLE idempotency_keys DROP COLUMN recovery;
DROP TRIGGER ledger_entries_settle_hold ON ledger_entries;
DROP FUNCTION ledger_entries_settle_hold();
DROP TABLE balance_holds;
DROP INDEX balances_in_debt;
DROP FUNCTION balance_holds_transition();
