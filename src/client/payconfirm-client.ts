import { createAbortScope } from './abort-scope.js';
import { abortableSleep } from './abortable-sleep.js';
import {
  PayconfirmAbortError,
  PayconfirmApiError,
  PayconfirmError,
  PayconfirmTimeoutError,
} from './errors.js';
import { HttpTransport, type HttpAnswer, type HttpRequest } from './http-transport.js';
import { resolveRetryPolicy, retryDelayMs, type RetryPolicy } from './retry-policy.js';
import type {
  Balance,
  ConfirmPaymentOptions,
  Debit,
  DebitInput,
  Refund,
  RefundInput,
  LedgerPage,
  LedgerQuery,
  PayconfirmClientOptions,
  PaymentResult,
  PendingPayment,
  RequestOptions,
} from './types.js';
import {
  decodeBalance,
  decodeDebit,
  decodeRefund,
  decodeLedgerPage,
  decodePaymentResult,
  throwIfErrorAnswer,
  type ConfirmPaymentRequestWire,
  type DebitRequestWire,
  type RefundRequestWire,
} from './wire.js';

export const DEFAULT_USER_AGENT = 'payconfirm-client/0.1';
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 15_000;
export const DEFAULT_POLL_INTERVAL_MS = 1_000;

/**
 * Typed client of the Payconfirm HTTP API.
 *
 * Network failures, attempt timeouts, 429 and 5xx answers are retried with exponential backoff
 * and full jitter (honouring `Retry-After`); other 4xx answers reject at once with a
 * `PayconfirmApiError`. Every method accepts an `AbortSignal` and a whole-call `timeoutMs`.
 */
export class PayconfirmClient {
  readonly #transport: HttpTransport;
  readonly #retryPolicy: RetryPolicy;
  readonly #random: () => number;

  constructor(options: PayconfirmClientOptions) {
    if (!options.apiKey) throw new TypeError('PayconfirmClient: apiKey is required');
    const fetchImpl = options.fetch ?? globalThis.fetch?.bind(globalThis);
    if (!fetchImpl) throw new TypeError('PayconfirmClient: no global fetch; pass options.fetch');
    this.#transport = new HttpTransport({
      baseUrl: options.baseUrl,
      apiKey: options.apiKey,
      userAgent: options.userAgent ?? DEFAULT_USER_AGENT,
      fetch: fetchImpl,
      attemptTimeoutMs: options.timeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS,
    });
    this.#retryPolicy = resolveRetryPolicy(options.retry);
    this.#random = options.random ?? Math.random;
  }

  /**
   * Asks the server to confirm the PaymentIntent and credit its account.
   *
   * Safe to retry, and retried automatically on transient failures: the server is idempotent per
   * PaymentIntent, so however many times a confirmation arrives the ledger is credited exactly once
   * (later calls answer `already_credited`). A PaymentIntent that can no longer be paid resolves
   * as `not_payable`; it is an outcome, not an error. See `ConfirmPaymentOptions.wait` to wait
   * for a `pending` confirmation to settle.
   */
  confirmPayment(paymentIntentId: string, options: ConfirmPaymentOptions = {}): Promise<PaymentResult> {
    const startedAt = performance.now();
    return this.#withinCall(options, async (signal) => {
      const body: ConfirmPaymentRequestWire = { payment_intent_id: paymentIntentId };
      const first = await this.#request(
        { method: 'POST', path: '/billing/confirm_payment', jsonBody: body },
        decodePaymentResult,
        signal,
      );
      const { wait = false, pollIntervalMs = DEFAULT_POLL_INTERVAL_MS } = options;
      if (wait === false || (typeof wait === 'number' && wait <= 0)) return first;
      const waitDeadline = wait === true ? Number.POSITIVE_INFINITY : startedAt + wait;
      return this.#pollWhilePending(first, { waitDeadline, pollIntervalMs }, signal);
    });
  }

  /** Current state of a PaymentIntent's confirmation. Rejects with a 404 `PayconfirmApiError` if unknown. */
  getPayment(paymentIntentId: string, options: RequestOptions = {}): Promise<PaymentResult> {
    return this.#withinCall(options, (signal) =>
      this.#request({ method: 'GET', path: paymentPath(paymentIntentId) }, decodePaymentResult, signal),
    );
  }

  /**
   * Spends credits of the account (POST /accounts/me/debits). One Idempotency-Key per call — `idempotencyKey`, or a
   * random one — sent unchanged on every retry, so a call retried after a timeout or a 5xx debits once. A debit the
   * balance cannot cover rejects with a 409 `insufficient_balance` `PayconfirmApiError` (never retried).
   */
  debit(input: DebitInput, options: RequestOptions & { idempotencyKey?: string } = {}): Promise<Debit> {
    const idempotencyKey = options.idempotencyKey ?? globalThis.crypto.randomUUID();
    const body: DebitRequestWire = {
      amount_minor: input.amountMinor,
      currency: input.currency,
      ...(input.reference !== undefined ? { reference: input.reference } : {}),
      ...(input.metadata !== undefined ? { metadata: input.metadata } : {}),
    };
    return this.#withinCall(options, (signal) =>
      this.#request({ method: 'POST', path: '/accounts/me/debits', jsonBody: body, headers: { 'idempotency-key': idempotencyKey } }, decodeDebit, signal),
    );
  }

  /**
   * Refunds (part of) a credited payment through Stripe (POST /billing/refunds); the books follow through the
   * payment workflow. One Idempotency-Key per call, reused on every retry: a retried call refunds once.
   */
  refund(input: RefundInput, options: RequestOptions & { idempotencyKey?: string } = {}): Promise<Refund> {
    const idempotencyKey = options.idempotencyKey ?? globalThis.crypto.randomUUID();
    const body: RefundRequestWire = {
      payment_intent_id: input.paymentIntentId,
      ...(input.amountMinor !== undefined ? { amount_minor: input.amountMinor } : {}),
    };
    return this.#withinCall(options, (signal) =>
      this.#request({ method: 'POST', path: '/billing/refunds', jsonBody: body, headers: { 'idempotency-key': idempotencyKey } }, decodeRefund, signal),
    );
  }

  /** Balances of the account the API key belongs to, one per currency. */
  getBalance(options: RequestOptions = {}): Promise<Balance> {
    return this.#withinCall(options, (signal) =>
      this.#request({ method: 'GET', path: '/accounts/me/balance' }, decodeBalance, signal),
    );
  }

  /** One page of the account's ledger; follow `nextCursor` for the next one. */
  listLedger(query: LedgerQuery = {}, options: RequestOptions = {}): Promise<LedgerPage> {
    const search = new URLSearchParams();
    if (query.limit !== undefined) search.set('limit', String(query.limit));
    if (query.cursor !== undefined) search.set('cursor', query.cursor);
    const path = search.toString() ? `/accounts/me/ledger?${search}` : '/accounts/me/ledger';
    return this.#withinCall(options, (signal) =>
      this.#request({ method: 'GET', path }, decodeLedgerPage, signal),
    );
  }

  /** Runs `work` under one signal that fires on the caller's abort or the call's deadline. */
  async #withinCall<T>(options: RequestOptions, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const call = createAbortScope({
      parent: options.signal,
      reasonForParentAbort: (callerReason) => new PayconfirmAbortError(callerReason),
      timeoutMs: options.timeoutMs,
      reasonForTimeout: () => new PayconfirmTimeoutError(`The call did not finish within ${options.timeoutMs} ms`),
    });
    try {
      return await work(call.signal);
    } finally {
      call.dispose();
    }
  }

  async #request<T>(request: HttpRequest, decode: (answer: HttpAnswer) => T, signal: AbortSignal): Promise<T> {
    return decode(await this.#sendWithRetries(request, signal));
  }

  async #sendWithRetries(request: HttpRequest, signal: AbortSignal): Promise<HttpAnswer> {
    for (let attemptIndex = 0; ; attemptIndex++) {
      try {
        const answer = await this.#transport.send(request, signal);
        throwIfErrorAnswer(answer);
        return answer;
      } catch (error) {
        // An aborted or expired call is final, whatever the attempt was doing.
        if (signal.aborted) throw signal.reason;
        const isRetryable = error instanceof PayconfirmError && error.retryable;
        if (!isRetryable || attemptIndex + 1 >= this.#retryPolicy.maxAttempts) throw error;
        const delayMs = retryDelayMs({
          failedAttempt: attemptIndex,
          policy: this.#retryPolicy,
          random: this.#random,
          retryAfterMs: error instanceof PayconfirmApiError ? error.retryAfterMs : null,
        });
        await abortableSleep(delayMs, signal);
      }
    }
  }

  async #pollWhilePending(
    first: PaymentResult,
    options: { waitDeadline: number; pollIntervalMs: number },
    signal: AbortSignal,
  ): Promise<PaymentResult> {
    let latest = first;
    while (latest.status === 'pending') {
      const remainingMs = options.waitDeadline - performance.now();
      if (remainingMs <= 0) return latest;
      await abortableSleep(Math.min(latest.retryAfterMs ?? options.pollIntervalMs, remainingMs), signal);
      latest = await this.#request({ method: 'GET', path: pollPath(latest) }, decodePaymentResult, signal);
    }
    return latest;
  }
}

function paymentPath(paymentIntentId: string): string {
  return `/billing/payments/${encodeURIComponent(paymentIntentId)}`;
}

/**
 * The server's `poll_url` when it is a path on this API; otherwise the canonical payment path,
 * so the API key is never sent to another origin.
 */
function pollPath(pending: PendingPayment): string {
  const isSameOriginPath = pending.pollUrl.startsWith('/') && !pending.pollUrl.startsWith('//');
  return isSameOriginPath ? pending.pollUrl : paymentPath(pending.paymentIntentId);
}
