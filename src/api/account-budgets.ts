import type { RateLimit } from './rate-limit.js';

/**
 * What one account may ask of one API replica, by kind of request: the table of fair shares (invariant 12, "one
 * account's load never takes the API from another"). Each is a token bucket per account (src/api/rate-limit.ts);
 * over it, that account alone hears 429 `rate_limited` with `Retry-After`, and every other account is served.
 * `stripeReads` is the account's share of the API's own Stripe reads (src/api/stripe-read-budget.ts), inside the
 * process-wide budget. `perMinute: 0` disables a row.
 */
export interface AccountBudgets {
  /** POST /billing/confirm_payment. */
  confirm: RateLimit;
  /** GET /billing/payments/:id (polls). */
  status: RateLimit;
  /** POST /accounts/me/debits. */
  spend: RateLimit;
  /** POST /billing/refunds. */
  refund: RateLimit;
  /** Stripe reads the API makes for the account (confirm's ownership read, a status or refund read). */
  stripeReads: RateLimit;
}

/** No per-account limits (tests that measure something else). */
export const UNLIMITED_ACCOUNT_BUDGETS: AccountBudgets = {
  confirm: { perMinute: 0 },
  status: { perMinute: 0 },
  spend: { perMinute: 0 },
  refund: { perMinute: 0 },
  stripeReads: { perMinute: 0 },
};

/** The table from per-minute numbers (config), each bursting up to its own number. */
export const accountBudgetsPerMinute = (perMinute: Record<keyof AccountBudgets, number>): AccountBudgets =>
  Object.fromEntries(Object.entries(perMinute).map(([kind, n]) => [kind, { perMinute: n }])) as unknown as AccountBudgets;
