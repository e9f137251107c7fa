/**
 * Stripe-shaped API errors. Route handlers and the idempotency layer throw
 * `ApiError`; the server turns it into `{ error: {...} }` with its status.
 */

export type StripeErrorType =
  | 'invalid_request_error'
  | 'api_error'
  | 'idempotency_error'
  | 'authentication_error'
  | 'rate_limit_error';

export interface StripeErrorPayload {
  type: StripeErrorType;
  code?: string;
  message: string;
  param?: string;
  doc_url?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly payload: StripeErrorPayload,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(payload.message);
    this.name = 'ApiError';
  }

  toJSON(): { error: StripeErrorPayload } {
    return { error: this.payload };
  }
}

interface ErrorDetails {
  code?: string;
  param?: string;
  status?: number;
}

function apiErrorOf(type: StripeErrorType, status: number, message: string, details: ErrorDetails = {}): ApiError {
  const { code, param } = details;
  return new ApiError(status, {
    type,
    message,
    ...(code === undefined ? {} : { code, doc_url: `https://stripe.com/docs/error-codes/${code.replace(/_/g, '-')}` }),
    ...(param === undefined ? {} : { param }),
  });
}

export function invalidRequest(message: string, details: ErrorDetails = {}): ApiError {
  return apiErrorOf('invalid_request_error', details.status ?? 400, message, details);
}

export function parameterMissing(param: string): ApiError {
  return invalidRequest(`Missing required param: ${param}.`, { code: 'parameter_missing', param });
}

export function parameterInvalid(param: string, message: string, code?: string): ApiError {
  return invalidRequest(message, code === undefined ? { param } : { code, param });
}

export function parameterUnknown(param: string): ApiError {
  return invalidRequest(`Received unknown parameter: ${param}`, { code: 'parameter_unknown', param });
}

/**
 * `No such payment_intent: 'pi_x'`. Objects named in the URL give 404;
 * objects referenced from a body parameter give 400, as Stripe does.
 */
export function resourceMissing(resource: string, id: string, param: string, status: 400 | 404 = 404): ApiError {
  return invalidRequest(`No such ${resource}: '${id}'`, { code: 'resource_missing', param, status });
}

export function unrecognizedUrl(method: string, path: string): ApiError {
  return invalidRequest(
    `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
    { status: 404 },
  );
}

export function authenticationFailed(providedKey: string | undefined): ApiError {
  const message = providedKey === undefined
    ? 'You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. \'Authorization: Bearer YOUR_SECRET_KEY\').'
    : `Invalid API Key provided: ${redactKey(providedKey)}`;
  return apiErrorOf('authentication_error', 401, message);
}

export function rateLimited(retryAfterSeconds: number): ApiError {
  return new ApiError(
    429,
    {
      type: 'rate_limit_error',
      code: 'rate_limit',
      message: 'Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.',
      doc_url: 'https://stripe.com/docs/error-codes/rate-limit',
    },
    { 'Retry-After': String(retryAfterSeconds) },
  );
}

export function serverError(status: number, message?: string): ApiError {
  return apiErrorOf(
    'api_error',
    status,
    message ?? 'An unknown error occurred while processing your request. (fake-stripe injected fault)',
  );
}

export function idempotencyEndpointMismatch(key: string, original: string, current: string): ApiError {
  return apiErrorOf(
    'idempotency_error',
    400,
    `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${original}' vs '${current}'). Try using a key other than '${key}' if you meant to execute a different request.`,
  );
}

export function idempotencyParamsMismatch(key: string): ApiError {
  return apiErrorOf(
    'idempotency_error',
    400,
    `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
  );
}

export function idempotencyKeyInUse(key: string): ApiError {
  return apiErrorOf(
    'idempotency_error',
    409,
    `There is currently another in-progress request using this Idempotent Key (${key}). That probably means you submitted twice, and the other request is still going through. Please retry this request later.`,
    { code: 'idempotency_key_in_use' },
  );
}

function redactKey(key: string): string {
  return key.length <= 8 ? '****' : `${key.slice(0, 8)}${'*'.repeat(Math.max(0, key.length - 12))}${key.slice(-4)}`;
}
