/**
 * A fully rendered API response. The body is serialized once so a replay
 * under an idempotency key is byte-identical to the original.
 */
import type { ApiError } from './stripe-errors.js';

export interface ApiResponse {
  readonly status: number;
  readonly body: string;
  /** Includes `Request-Id` and `Stripe-Version`. */
  readonly headers: Readonly<Record<string, string>>;
}

export interface ResponseContext {
  readonly requestId: string;
  readonly stripeVersion: string;
}

export function jsonResponse(
  status: number,
  json: object,
  context: ResponseContext,
  extraHeaders: Readonly<Record<string, string>> = {},
): ApiResponse {
  return {
    status,
    body: `${JSON.stringify(json, null, 2)}\n`,
    headers: { 'Request-Id': context.requestId, 'Stripe-Version': context.stripeVersion, ...extraHeaders },
  };
}

/** The `id` of the object a successful response carries, if any. */
export function responseObjectId(response: ApiResponse): string | undefined {
  if (response.status !== 200) return undefined;
  const json: unknown = JSON.parse(response.body);
  if (typeof json !== 'object' || json === null || !('id' in json)) return undefined;
  return typeof json.id === 'string' ? json.id : undefined;
}

export function errorResponse(error: ApiError, context: ResponseContext): ApiResponse {
  return jsonResponse(error.status, error.toJSON(), context, error.headers);
}
