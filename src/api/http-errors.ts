/** An answer the API gives on purpose: status, machine-readable code, message for people. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export const badRequest = (message: string, code = 'invalid_request') => new HttpError(400, code, message);
/** Why a presented API key was refused: unknown (or none), revoked, or past its expiry (docs/api-keys.md). */
export type UnauthenticatedReason = 'unauthenticated' | 'api_key_revoked' | 'api_key_expired';
const UNAUTHENTICATED_MESSAGES: Record<UnauthenticatedReason, string> = {
  unauthenticated: 'a valid API key is required (Authorization: Bearer …)',
  api_key_revoked: 'this API key was revoked; use another key of the account',
  api_key_expired: 'this API key has expired; use another key of the account',
};
export const unauthenticated = (reason: UnauthenticatedReason = 'unauthenticated') =>
  new HttpError(401, reason, UNAUTHENTICATED_MESSAGES[reason], { 'WWW-Authenticate': 'Bearer' });
/** The key is live but may not do this: the answer names the scope it lacks (`required_scope`). */
export const insufficientScope = (scope: string) =>
  new HttpError(403, 'insufficient_scope', `this API key lacks the "${scope}" scope this request needs`, {}, { required_scope: scope });
export const forbidden = (message: string) => new HttpError(403, 'forbidden', message);
export const notFound = (message: string, code = 'not_found') => new HttpError(404, code, message);
export const unavailable = (code: string, message: string, retryAfterSeconds: number) =>
  new HttpError(503, code, message, { 'Retry-After': String(retryAfterSeconds) });
