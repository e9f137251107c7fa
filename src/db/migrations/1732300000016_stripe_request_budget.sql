-- Up Migration
-- Stripe's rate limits as one budget that every process spends from (workers, API, CLI): src/stripe/stripe-request-budget.ts.
-- One row per Stripe operation (method + path template, `GET /v1/payment_intents/:id`, src/stripe/stripe-endpoint.ts)
-- and one row, operation '*', for the account as a whole. Each row is a GCRA bucket without burst: `next_slot_at` is
-- the earliest time its next request may go, and every request taken moves it on by 1 / rate, so two requests of one
-- bucket are never closer than that, on the database's clock: no 1-second window ever holds more than the rate (the
-- interval is rounded UP to the microsecond timestamps hold: rounded down, r + 1 slots could span a hair under 1 s).
CREATE TABLE stripe_request_budget (
  operation        text PRIMARY KEY CHECK (length(operation) BETWEEN 1 AND 200),
  -- The rate in force: the configured one, or less after Stripe answered 429 (halved at most once a second, by the
  -- caller's UPDATE), recovering on every take by a tenth of the configured rate per second since the last.
  rate_per_second  float8 NOT NULL CHECK (rate_per_second > 0),
  rate_at          timestamptz NOT NULL,
  next_slot_at     timestamptz NOT NULL,
  slowed_at        timestamptz
);

-- stripe_budget_take(operation, per_second, account_per_second, horizon_seconds): one request of `operation`.
-- Takes the next slot that both the operation's bucket and the account's are free at, if it is at most
-- `horizon_seconds` away, and returns the seconds until it (>= 0: taken, send it then; 0 = now). Otherwise it takes
-- nothing and returns minus the seconds until a slot would be within the horizon (< 0: call again then).
-- A caller whose slot is beyond its horizon is answered from a plain read (no lock, no write). A taker locks the
-- account row before the operation's, always in that order, and only for this one statement: call it outside any
-- transaction; it never sleeps. A new operation's row is created on its first take (ON CONFLICT: concurrent first
-- takes agree). `per_second` / `account_per_second` are the configured rates (a change applies at the
-- next take); horizons are how priority is kept (interactive callers reserve further ahead than backlog ones).
CREATE FUNCTION stripe_budget_take(p_operation text, p_per_second float8, p_account_per_second float8, p_horizon_seconds float8)
RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
  v_now     timestamptz := clock_timestamp();
  v_account stripe_request_budget;
  v_op      stripe_request_budget;
  v_rate    float8;
  v_slot    timestamptz;
BEGIN
  IF p_operation = '*' OR NOT (p_per_second > 0 AND p_account_per_second > 0 AND p_horizon_seconds >= 0) THEN
    RAISE EXCEPTION 'stripe_budget_take: bad arguments (%, %, %, %)', p_operation, p_per_second, p_account_per_second, p_horizon_seconds;
  END IF;
  -- A first look without locks: a caller whose slot is beyond its horizon takes nothing, so it need not wait for the
  -- rows' locks nor write anything (many callers waiting at once cost the takers nothing).
  SELECT greatest(v_now, max(next_slot_at)) INTO v_slot FROM stripe_request_budget WHERE operation IN ('*', p_operation);
  IF v_slot > v_now + make_interval(secs => p_horizon_seconds) THEN
    RETURN -extract(epoch FROM v_slot - v_now - make_interval(secs => p_horizon_seconds))::float8;
  END IF;
  SELECT * INTO v_account FROM stripe_request_budget WHERE operation = '*' FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO stripe_request_budget (operation, rate_per_second, rate_at, next_slot_at)
    VALUES ('*', p_account_per_second, v_now, v_now) ON CONFLICT (operation) DO NOTHING;
    SELECT * INTO v_account FROM stripe_request_budget WHERE operation = '*' FOR UPDATE;
  END IF;
  SELECT * INTO v_op FROM stripe_request_budget WHERE operation = p_operation FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO stripe_request_budget (operation, rate_per_second, rate_at, next_slot_at)
    VALUES (p_operation, p_per_second, v_now, v_now) ON CONFLICT (operation) DO NOTHING;
    SELECT * INTO v_op FROM stripe_request_budget WHERE operation = p_operation FOR UPDATE;
  END IF;
  -- Under the locks, on the clock now (the wait for them counts): the slot again, as it stands.
  v_now := clock_timestamp();
  -- Additive increase: a tenth of the configured rate per second since the last take, never above the configured rate.
  v_rate := least(p_per_second, v_op.rate_per_second + p_per_second * 0.1 * greatest(0, extract(epoch FROM v_now - v_op.rate_at)::float8));
  v_slot := greatest(v_now, v_account.next_slot_at, v_op.next_slot_at);
  IF v_slot > v_now + make_interval(secs => p_horizon_seconds) THEN
    -- Nothing taken (a negative zero cannot happen: the slot is strictly beyond the horizon).
    RETURN -extract(epoch FROM v_slot - v_now - make_interval(secs => p_horizon_seconds))::float8;
  END IF;
  UPDATE stripe_request_budget
     SET next_slot_at = v_slot + make_interval(secs => ceil(1e6 / p_account_per_second) / 1e6), rate_per_second = p_account_per_second, rate_at = v_now
   WHERE operation = '*';
  UPDATE stripe_request_budget
     SET next_slot_at = v_slot + make_interval(secs => ceil(1e6 / v_rate) / 1e6), rate_per_second = v_rate, rate_at = v_now
   WHERE operation = p_operation;
  RETURN extract(epoch FROM v_slot - v_now)::float8;
END
$$;

-- Down Migration
DROP FUNCTION stripe_budget_take(text, float8, float8, float8);
DROP TABLE stripe_request_budget;
