import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from '../db/pool.js';

/**
 * Stripe's rate limits as ONE budget that every process spends from — workers, API, CLI — held in Postgres
 * (migration 1732300000016: a GCRA bucket per Stripe operation and one for the account, taken by the SQL function
 * `stripe_budget_take` in one round trip, on the database's clock). src/stripe/stripe-client.ts takes a token just
 * before each HTTP attempt, so nothing else needs to throttle Stripe work.
 *
 * - Operation: method + path template, as src/stripe/stripe-endpoint.ts labels it (`GET /v1/payment_intents/:id`).
 * - Defaults (Stripe's rate-limits page): live keys (`sk_live_`/`rk_live_`) 100 requests/s for the account and 25/s for
 *   each operation; sandbox keys (`sk_test_`/`rk_test_`) 25/s for both. STRIPE_RATE_LIMIT_PER_SECOND overrides the
 *   account's, STRIPE_OPERATION_RATE_LIMIT_PER_SECOND every operation's (raise them after Stripe raises yours).
 * - Headroom: the budget paces at JITTER_ALLOWANCE below the limit, so the few milliseconds between a token and
 *   the request reaching Stripe (timers, the event loop, the network) do not bunch r + 1 requests into one second.
 * - Priority: a taker reserves its slot only if it is at most its horizon away. Backlog work (workers, CLI) reserves
 *   at most BACKLOG_HORIZON_MS ahead and otherwise waits and takes again; interactive work (the API's confirm and
 *   refunds) reserves up to its whole wait. So when the budget is short, an interactive request waits at most
 *   BACKLOG_HORIZON_MS behind the backlog, never behind the backlog's whole queue.
 * - Bounded: a take that cannot get a slot within maxWaitMs throws StripeBudgetTimeout (callers retry: an activity's
 *   retry policy, the API's 503 with Retry-After).
 * - A 429 from Stripe (`slowDown`): the operation's rate is halved (at most once a second; floor a tenth of the
 *   configured rate) and its next slot moved past Retry-After for every process; each take then adds back a tenth of
 *   the configured rate per second (additive increase).
 */
export type StripePriority = 'interactive' | 'backlog';

export interface StripeBudgetLimits {
  /** The account as a whole: every request counts. */
  accountPerSecond: number;
  /** Each operation (method + path template) on its own. */
  operationPerSecond: number;
}

export type StripeKeyMode = 'live' | 'sandbox';

export const STRIPE_DEFAULT_LIMITS: Readonly<Record<StripeKeyMode, StripeBudgetLimits>> = {
  live: { accountPerSecond: 100, operationPerSecond: 25 },
  sandbox: { accountPerSecond: 25, operationPerSecond: 25 },
};

/** `sk_live_…` / `rk_live_…` are live; everything else (test keys, no key) is a sandbox. */
export const stripeKeyMode = (secretKey: string | undefined): StripeKeyMode =>
  /^(sk|rk)_live_/.test(secretKey ?? '') ? 'live' : 'sandbox';

/** Stripe's documented defaults for the key's mode, with the configured overrides. */
export function stripeBudgetLimitsFor(
  secretKey: string | undefined,
  overrides: { accountPerSecond?: number | undefined; operationPerSecond?: number | undefined } = {},
): StripeBudgetLimits {
  const defaults = STRIPE_DEFAULT_LIMITS[stripeKeyMode(secretKey)];
  return {
    accountPerSecond: overrides.accountPerSecond ?? defaults.accountPerSecond,
    operationPerSecond: overrides.operationPerSecond ?? defaults.operationPerSecond,
  };
}

export const JITTER_ALLOWANCE = 0.05;
export const BACKLOG_HORIZON_MS = 500;
export const DEFAULT_MAX_WAIT_MS = 30_000;
/** Waiters that found no slot spread their next take over this much, so they do not all come back at once. */
const RETAKE_SPREAD_MS = 50;

/** No slot within the bounded wait: the caller retries later (nothing was sent to Stripe). */
export class StripeBudgetTimeout extends Error {
  override readonly name = 'StripeBudgetTimeout';
  constructor(readonly operation: string, readonly waitedMs: number) {
    super(`no Stripe request budget for ${operation} within ${Math.round(waitedMs)} ms`);
  }
}

export interface StripeRequestBudget {
  readonly limits: StripeBudgetLimits;
  /** Waits (a timer) until `operation` may send one request now, or throws StripeBudgetTimeout. */
  take(operation: string, priority?: StripePriority): Promise<void>;
  /** Stripe answered 429: slow `operation` down for every process and keep it quiet for `retryAfterMs`. */
  slowDown(operation: string, retryAfterMs: number): Promise<void>;
}

export interface StripeRequestBudgetOptions {
  pool: Pool;
  limits: StripeBudgetLimits;
  maxWaitMs?: number;
}

export function createStripeRequestBudget({ pool, limits, maxWaitMs = DEFAULT_MAX_WAIT_MS }: StripeRequestBudgetOptions): StripeRequestBudget {
  const paced = (perSecond: number) => perSecond / (1 + JITTER_ALLOWANCE);
  return {
    limits,
    async take(operation, priority = currentStripePriority()) {
      const started = performance.now();
      for (;;) {
        const left = maxWaitMs - (performance.now() - started);
        if (left <= 0) throw new StripeBudgetTimeout(operation, performance.now() - started);
        const horizonMs = priority === 'interactive' ? left : Math.min(BACKLOG_HORIZON_MS, left);
        const { rows } = await pool.query<{ wait: number }>('SELECT stripe_budget_take($1, $2, $3, $4) AS wait', [
          operation,
          paced(limits.operationPerSecond),
          paced(limits.accountPerSecond),
          horizonMs / 1000,
        ]);
        const wait = rows[0]!.wait;
        if (wait >= 0) {
          if (wait > 0) await sleep(wait * 1000);
          return;
        }
        // The slot is -wait + horizon away: past the bounded wait, give up now rather than after sleeping.
        if (-wait * 1000 + horizonMs > left) throw new StripeBudgetTimeout(operation, performance.now() - started);
        await sleep(-wait * 1000 + Math.random() * RETAKE_SPREAD_MS);
      }
    },
    async slowDown(operation, retryAfterMs) {
      // Halve the rate in force, once a second at most, never below a tenth of the configured rate; push the next
      // slot past Retry-After whatever the rate (the row exists: a request of this operation was taken).
      await pool.query(
        `UPDATE stripe_request_budget
            SET rate_per_second = CASE WHEN slowed_at IS NULL OR slowed_at < clock_timestamp() - interval '1 second'
                                       THEN greatest($2::float8 * 0.1, rate_per_second * 0.5) ELSE rate_per_second END,
                slowed_at = CASE WHEN slowed_at IS NULL OR slowed_at < clock_timestamp() - interval '1 second'
                                 THEN clock_timestamp() ELSE slowed_at END,
                rate_at = clock_timestamp(),
                next_slot_at = greatest(next_slot_at, clock_timestamp() + make_interval(secs => $3::float8))
          WHERE operation = $1`,
        [operation, paced(limits.operationPerSecond), retryAfterMs / 1000],
      );
    },
  };
}

const priorityScope = new AsyncLocalStorage<StripePriority>();

/** Runs `fn` with its Stripe requests at `priority` (the API marks its requests interactive). */
export const withStripePriority = <T>(priority: StripePriority, fn: () => T): T => priorityScope.run(priority, fn);

/** The priority of the Stripe requests made here: interactive inside withStripePriority('interactive'), else backlog. */
export const currentStripePriority = (): StripePriority => priorityScope.getStore() ?? 'backlog';
