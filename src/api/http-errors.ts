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
export const unauthenticated = () => new HttpError(401, 'unauthenticated', 'a valid API key is required (Authorization: Bearer …)', { 'WWW-Authenticate': 'Bearer' });
export const forbidden = (message: string) => new HttpError(403, 'forbidden', message);
export const notFound = (message: string, code = 'not_found') => new HttpError(404, code, message);
export const unavailable = (code: string, message: string, retryAfterSeconds: number) =>
  new HttpError(503, code, message, { 'Retry-After': String(retryAfterSeconds) });
