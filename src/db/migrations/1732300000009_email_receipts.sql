-- Up Migration
-- E-mail receipts: one per payment credit, to the account's e-mail address, sent through SMTP (SMTP_URL) by the
-- receipt deliverer in the worker process (src/notifications/email-receipts.ts). A second outbox beside
-- outgoing_notifications, with the same row lifecycle (claim with a lease, retries with backoff, dead letters;
-- src/notifications/outbox-rows.ts):
--
--   * Written by the AFTER INSERT trigger on ledger_entries below, in the credit's own transaction, for
--     `payment_credit` movements only. A credit written again under its key (a duplicate, reconcile --fix) adds none.
--   * id is the movement's idempotency key (`stripe:payment_intent:pi_…`); the e-mail's Message-ID is derived from it
--     (`<sha256(id)[0..32]@RECEIPT_MESSAGE_ID_DOMAIN>`), the same on every attempt. SMTP cannot tell a sender that
--     died before recording whether its message arrived, so a receipt is sent at least once and the receiving side
--     drops a second copy by Message-ID (README "E-mail receipts").
--   * recipient is the account's e-mail when the credit was written; an account without one gets a `skipped` row
--     (kept, so the books show why no receipt went out), never a failure.
--
-- status: pending → to send when next_attempt_at comes (a deliverer holds it while lease_until is ahead)
--         sent    → the SMTP server accepted it (250)
--         dead    → RECEIPT_MAX_ATTEMPTS attempts failed, or the server refused it permanently (5xx)
--         skipped → the account had no e-mail address
ALTER TABLE accounts ADD COLUMN email text
  CHECK (email IS NULL OR (length(email) <= 254 AND email ~ '^[^@\s<>()",;:\\]+@[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$'));

CREATE TABLE outgoing_emails (
  id               text PRIMARY KEY CHECK (id ~ '^[!-~]{1,255}$'),
  seq              bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  type             text NOT NULL CHECK (type IN ('payment.receipt')),
  -- the credit's ledger row when the receipt was written (no foreign key: as for notifications, the movement key in
  -- id is the link, and a credit re-applied under its key after its row was lost keeps its receipt)
  ledger_entry_id  uuid NOT NULL,
  account_id       uuid NOT NULL REFERENCES accounts (id),
  recipient        text,
  -- what the receipt says: {to (= recipient), account_id, account_name, amount_minor, currency, payment_intent_id, idempotency_key,
  -- created_at}; money as integer minor units + currency
  payload          jsonb NOT NULL,
  status           text NOT NULL CHECK (status IN ('pending', 'sent', 'dead', 'skipped')),
  CONSTRAINT recipient_unless_skipped CHECK ((status = 'skipped') = (recipient IS NULL)),
  attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  lease_until      timestamptz,
  lease_token      uuid,
  last_attempt_at  timestamptz,
  -- the SMTP reply code of the last attempt (250 when sent), null when no answer came
  last_status_code integer,
  last_error       text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  sent_at          timestamptz,
  dead_at          timestamptz
);

CREATE INDEX outgoing_emails_due ON outgoing_emails (next_attempt_at, seq) WHERE status = 'pending';
CREATE INDEX outgoing_emails_by_status ON outgoing_emails (status, seq DESC);

CREATE FUNCTION ledger_entries_enqueue_receipt() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
  acct accounts%ROWTYPE;
BEGIN
  IF NEW.kind <> 'payment_credit' THEN
    RETURN NULL;
  END IF;
  SELECT * INTO acct FROM accounts WHERE id = NEW.account_id;
  INSERT INTO outgoing_emails (id, type, ledger_entry_id, account_id, recipient, payload, status, last_error)
  VALUES (NEW.idempotency_key, 'payment.receipt', NEW.id, NEW.account_id, acct.email,
    jsonb_build_object(
      'to', acct.email,
      'account_id', NEW.account_id,
      'account_name', acct.name,
      'amount_minor', NEW.amount_minor,
      'currency', NEW.currency,
      'payment_intent_id', NEW.payment_intent_id,
      'idempotency_key', NEW.idempotency_key,
      'created_at', to_char(NEW.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
    CASE WHEN acct.email IS NULL THEN 'skipped' ELSE 'pending' END,
    CASE WHEN acct.email IS NULL THEN 'the account has no e-mail address' END)
  ON CONFLICT (id) DO NOTHING;
  RETURN NULL;
END $$;

CREATE TRIGGER ledger_entries_enqueue_receipt AFTER INSERT ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION ledger_entries_enqueue_receipt();

-- Down Migration
DROP TRIGGER ledger_entries_enqueue_receipt ON ledger_entries;
DROP FUNCTION ledger_entries_enqueue_receipt();
DROP TABLE outgoing_emails;
ALTER TABLE accounts DROP COLUMN email;
