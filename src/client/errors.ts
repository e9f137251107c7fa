/** Details shared by every error the client raises. */
export interface PayconfirmErrorDetails {
  /** Machine-readable code: the server's `error.code`, or one of the client's own codes. */
  code: string;
  httpStatus?: number | null;
  requestId?: string | null;
  /** Whether repeating the same call later may succeed. */
  retryable?: boolean;
  cause?: unknown;
}

/**
 * Base class of every error the client raises.
 * Client-side codes: `network_error`, `timeout`, `aborted`, `unexpected_response`.
 */
export class PayconfirmError extends Error {
  override readonly name: string = 'PayconfirmError';
  readonly code: string;
  readonly httpStatus: number | null;
  readonly requestId: string | null;
  readonly retryable: boolean;

  constructor(message: string, details: PayconfirmErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = details.code;
    this.httpStatus = details.httpStatus ?? null;
    this.requestId = details.requestId ?? null;
    this.retryable = details.retryable ?? false;
  }
}

/** The server answered with an HTTP error status (4xx other than a `not_payable` 409, or 5xx). */
export class PayconfirmApiError extends PayconfirmError {
  override readonly name: string = 'PayconfirmApiError';
  declare readonly httpStatus: number;
  /** The server's `Retry-After`, in milliseconds, when it sent one. */
  readonly retryAfterMs: number | null;

  constructor(
    message: string,
    details: PayconfirmErrorDetails & { httpStatus: number; retryAfterMs: number | null },
  ) {
    super(message, details);
    this.retryAfterMs = details.retryAfterMs;
  }
}

/**
 * 401: the API key was not accepted. `code` says why: `unauthenticated` (unknown or missing key),
 * `api_key_revoked` or `api_key_expired` (use another key of the account). Never retryable.
 */
export class PayconfirmAuthenticationError extends PayconfirmApiError {
  override readonly name: string = 'PayconfirmAuthenticationError';
  declare readonly httpStatus: 401;
}

/**
 * 403: the key is valid but may not do this. With `code` `insufficient_scope`, `requiredScope` names the scope
 * the request needs (`read`, `confirm`, `spend` or `refund`); otherwise it is null. Never retryable.
 */
export class PayconfirmPermissionError extends PayconfirmApiError {
  override readonly name: string = 'PayconfirmPermissionError';
  declare readonly httpStatus: 403;
  readonly requiredScope: string | null;

  constructor(
    message: string,
    details: PayconfirmErrorDetails & { httpStatus: number; retryAfterMs: number | null; requiredScope: string | null },
  ) {
    super(message, details);
    this.requiredScope = details.requiredScope;
  }
}

/** No HTTP answer arrived: the connection failed or was cut. Always retryable. */
export class PayconfirmNetworkError extends PayconfirmError {
  override readonly name: string = 'PayconfirmNetworkError';

  constructor(message: string, options: { code?: string; cause?: unknown } = {}) {
    super(message, { code: options.code ?? 'network_error', retryable: true, cause: options.cause });
  }
}

/** An HTTP attempt, or the whole call, ran past its `timeoutMs`. */
export class PayconfirmTimeoutError extends PayconfirmNetworkError {
  override readonly name: string = 'PayconfirmTimeoutError';

  constructor(message: string) {
    super(message, { code: 'timeout' });
  }
}

/** The caller's `AbortSignal` fired. Named `AbortError` like the platform's abort errors. */
export class PayconfirmAbortError extends PayconfirmError {
  override readonly name: string = 'AbortError';

  constructor(reason: unknown) {
    super('The call was aborted', { code: 'aborted', retryable: false, cause: reason });
  }
}
