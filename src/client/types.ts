/** Public (camelCase) types of the client. The snake_case wire types live in `wire.ts`. */

export interface CreditedPayment {
  /** `already_credited`: an earlier call credited this PaymentIntent; nothing was credited twice. */
  status: 'credited' | 'already_credited';
  paymentIntentId: string;
  accountId: string;
  ledgerEntryId: string;
  amountMinor: number;
  currency: string;
  /** ISO-8601 timestamp. */
  creditedAt: string;
}

export interface PendingPayment {
  status: 'pending';
  paymentIntentId: string;
  stage: string;
  /**
   * Why it waits for payconfirm's operators, as a code (e.g. `no_account_for_customer`); null while it simply runs.
   * The operators' detail stays with them.
   */
  reason: string | null;
  /** Path to poll, relative to the client's base URL. */
  pollUrl: string;
  /** How long the server asked the caller to wait before polling, when it said. */
  retryAfterMs: number | null;
}

export interface NotPayablePayment {
  status: 'not_payable';
  paymentIntentId: string;
  /** Stripe's PaymentIntent status, e.g. `canceled`. */
  paymentIntentStatus: string;
}

export type PaymentResult = CreditedPayment | PendingPayment | NotPayablePayment;

export interface CurrencyBalance {
  currency: string;
  amountMinor: number;
}

/** A spend of credits (POST /accounts/me/debits). */
export interface DebitInput {
  /** Positive, in the currency's minor unit. */
  amountMinor: number;
  /** Lower-case ISO 4217, e.g. `usd`. */
  currency: string;
  /** Free text for people; never used to deduplicate (the Idempotency-Key does that). */
  reference?: string;
  metadata?: Record<string, string>;
}

export interface Debit {
  id: string;
  amountMinor: number;
  currency: string;
  reference: string | null;
  /** ISO-8601 timestamp. */
  createdAt: string;
  /** The balance right after this debit. */
  balanceAfter: CurrencyBalance;
}

/** A refund asked through payconfirm (POST /billing/refunds). */
export interface RefundInput {
  paymentIntentId: string;
  /** Default: all that is left to refund. */
  amountMinor?: number;
}

export interface Refund {
  /** Stripe's refund id (`re_…`). */
  id: string;
  paymentIntentId: string;
  amountMinor: number;
  currency: string;
  /** Stripe's refund status (`pending`, `succeeded`, …). */
  status: string;
}

/** One currency of GET /accounts/me/balance. */
export interface AccountCurrencyBalance extends CurrencyBalance {
  /** Reserved by refunds under way (they cannot be spent or refunded twice). */
  heldMinor: number;
  /** amountMinor − heldMinor: what a debit or a refund may still take. */
  availableMinor: number;
}

export interface Balance {
  accountId: string;
  balances: AccountCurrencyBalance[];
}

export type LedgerEntryKind = 'payment_credit' | 'refund_debit' | 'admin_credit' | (string & {});

export interface LedgerEntry {
  id: string;
  kind: LedgerEntryKind;
  amountMinor: number;
  currency: string;
  paymentIntentId: string | null;
  reference: string | null;
  /** ISO-8601 timestamp. */
  createdAt: string;
}

export interface LedgerPage {
  entries: LedgerEntry[];
  /** Pass as `cursor` to fetch the next page; null on the last page. */
  nextCursor: string | null;
}

export interface LedgerQuery {
  cursor?: string;
  limit?: number;
}

export interface RequestOptions {
  /** Aborting rejects the call at once with a `PayconfirmAbortError`. */
  signal?: AbortSignal;
  /**
   * Deadline for the whole call (every attempt, backoff and poll included); past it the call
   * rejects with a `PayconfirmTimeoutError`. Unbounded by default: each attempt is still bounded
   * by the client's per-attempt `timeoutMs` and the number of attempts by `retry.maxAttempts`.
   */
  timeoutMs?: number;
}

export interface ConfirmPaymentOptions extends RequestOptions {
  /**
   * `true`: while the answer is `pending`, poll until it settles (or the call is aborted / times out).
   * A number of milliseconds: poll until that long after the call started, then return the last
   * `pending` answer. Absent or `false`: return the first answer.
   */
  wait?: boolean | number;
  /** Spacing between polls when the server sent no `Retry-After`. Default 1000. */
  pollIntervalMs?: number;
}

export interface PayconfirmClientOptions {
  /** e.g. `https://payconfirm.internal`; may include a path prefix. */
  baseUrl: string;
  apiKey: string;
  /** Timeout of each HTTP attempt. Default 15000. */
  timeoutMs?: number;
  retry?: {
    /** Total attempts per request, the first included. Default 5. */
    maxAttempts?: number;
    /** Default 250. */
    baseDelayMs?: number;
    /** Default 10000. */
    maxDelayMs?: number;
  };
  fetch?: typeof fetch;
  /** Default `payconfirm-client/0.1`. */
  userAgent?: string;
  /** Source of jitter in [0, 1); injectable for tests. Default `Math.random`. */
  random?: () => number;
}
