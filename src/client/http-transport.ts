import { createAbortScope } from './abort-scope.js';
import { PayconfirmNetworkError, PayconfirmTimeoutError } from './errors.js';
import { parseRetryAfterMs } from './retry-policy.js';

export interface HttpRequest {
  method: 'GET' | 'POST';
  /** Path (and query) relative to the base URL, starting with `/`. */
  path: string;
  jsonBody?: unknown;
  /** Extra request headers (e.g. `idempotency-key`), identical on every retry of the request. */
  headers?: Record<string, string>;
}

/** An HTTP answer of any status, body parsed as JSON (null when empty or not JSON). */
export interface HttpAnswer {
  httpStatus: number;
  body: unknown;
  requestId: string | null;
  retryAfterMs: number | null;
}

/** Performs single HTTP attempts against the Payconfirm API. Retries are the caller's business. */
export class HttpTransport {
  readonly #baseUrl: string;
  readonly #headers: Record<string, string>;
  readonly #fetch: typeof fetch;
  readonly #attemptTimeoutMs: number;

  constructor(options: {
    baseUrl: string;
    apiKey: string;
    userAgent: string;
    fetch: typeof fetch;
    attemptTimeoutMs: number;
  }) {
    this.#baseUrl = new URL(options.baseUrl).href.replace(/\/+$/, '');
    this.#headers = {
      authorization: `Bearer ${options.apiKey}`,
      'user-agent': options.userAgent,
      accept: 'application/json',
    };
    this.#fetch = options.fetch;
    this.#attemptTimeoutMs = options.attemptTimeoutMs;
  }

  /**
   * One attempt. Resolves with whatever the server answered; rejects with a
   * `PayconfirmNetworkError`, a `PayconfirmTimeoutError` (attempt timeout), or `callSignal.reason`.
   */
  async send(request: HttpRequest, callSignal: AbortSignal): Promise<HttpAnswer> {
    const attempt = createAbortScope({
      parent: callSignal,
      reasonForParentAbort: (callReason) => callReason,
      timeoutMs: this.#attemptTimeoutMs,
      reasonForTimeout: () =>
        new PayconfirmTimeoutError(
          `${request.method} ${request.path} got no answer within ${this.#attemptTimeoutMs} ms`,
        ),
    });
    try {
      const hasBody = request.jsonBody !== undefined;
      const response = await this.#fetch(this.#baseUrl + request.path, {
        method: request.method,
        headers: { ...this.#headers, ...request.headers, ...(hasBody ? { 'content-type': 'application/json' } : {}) },
        body: hasBody ? JSON.stringify(request.jsonBody) : undefined,
        signal: attempt.signal,
      });
      const bodyText = await response.text();
      return {
        httpStatus: response.status,
        body: parseJsonOrNull(bodyText),
        requestId: response.headers.get('x-request-id'),
        retryAfterMs: parseRetryAfterMs(response.headers.get('retry-after'), Date.now()),
      };
    } catch (error) {
      if (attempt.signal.aborted) throw attempt.signal.reason;
      throw new PayconfirmNetworkError(`${request.method} ${request.path} failed: ${describe(error)}`, {
        cause: error,
      });
    } finally {
      attempt.dispose();
    }
  }
}

function parseJsonOrNull(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // undici reports "fetch failed" and puts the real reason (ECONNRESET, ...) in `cause`.
  return error.cause instanceof Error ? `${error.message} (${error.cause.message})` : error.message;
}
