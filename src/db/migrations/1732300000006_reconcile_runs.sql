-- Up Migration
-- Runs of the scheduled reconcile (workflows/payment-reconcile-workflow.ts) and what each found, so any process can
-- report the latest drift (the API's /metrics gauges read the newest finished run) and an operator can ask SQL
-- what a run found:
--
--   SELECT * FROM reconcile_runs ORDER BY started_at DESC LIMIT 5;
--   SELECT * FROM reconcile_run_findings WHERE run_id = '…';
--
-- One row per run, keyed by its workflow id and first run id (a retried activity writes nothing twice).
CREATE TABLE reconcile_runs (
  run_id       text PRIMARY KEY,
  -- PaymentIntents with any activity since this moment were checked
  since        timestamptz NOT NULL,
  started_at   timestamptz NOT NULL DEFAULT now(),
  -- NULL while the run goes on
  finished_at  timestamptz,
  -- PaymentIntents compared (Stripe, ledger, mirror)
  checked      integer NOT NULL DEFAULT 0 CHECK (checked >= 0),
  -- PaymentIntents found drifting (their payment workflow was woken)
  drifting     integer NOT NULL DEFAULT 0 CHECK (drifting >= 0),
  -- of those, still drifting once their workflow settled: an operator must act (needs_attention, or worse)
  unresolved   integer NOT NULL DEFAULT 0 CHECK (unresolved >= 0),
  -- PaymentIntents that could not be compared (Stripe kept failing); the next run tries again
  failed       integer NOT NULL DEFAULT 0 CHECK (failed >= 0)
);
CREATE INDEX reconcile_runs_latest ON reconcile_runs (finished_at DESC) WHERE finished_at IS NOT NULL;

-- One row per PaymentIntent a run found drifting or could not check (clean payments leave no row).
CREATE TABLE reconcile_run_findings (
  run_id            text NOT NULL REFERENCES reconcile_runs (run_id) ON DELETE CASCADE,
  payment_intent_id text NOT NULL,
  -- compareBooks' status: credited, needs_attention, …; NULL when the payment could not be compared
  status            text,
  -- [{kind, subject, detail}] as compareBooks found it, before the wake
  drift             jsonb NOT NULL DEFAULT '[]',
  -- the drift left once its workflow settled (NULL: not checked again)
  drift_after       jsonb,
  -- why the payment could not be compared
  error             text,
  found_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, payment_intent_id)
);

-- The /metrics gauge of the oldest unprocessed inbox row reads the head of this index (cheap on every scrape, however
-- many finished rows the retention keeps).
CREATE INDEX stripe_webhook_events_unfinished ON stripe_webhook_events (received_at) WHERE status IN ('received', 'dispatched');

-- Down Migration
DROP INDEX stripe_webhook_events_unfinished;
DROP TABLE reconcile_run_findings;
DROP TABLE reconcile_runs;
