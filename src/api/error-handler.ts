import type { NextFunction, Request, Response } from 'express';
import { scrubSecrets } from '../logger.js';
import { HttpError } from './http-errors.js';
import { locals } from './request-context.js';

/** The only place errors become HTTP answers: always JSON, never a stack trace. */
export function errorHandler(err: unknown, _req: Request, res: Response, _next: NextFunction): void {
  const { requestId, log } = locals(res);
  const known = toHttpError(err);
  if (!known) log.error({ err: { name: (err as Error)?.name, message: scrubSecrets(String((err as Error)?.message ?? err)) } }, 'unhandled error');
  const answer = known ?? new HttpError(500, 'internal_error', 'something went wrong; it was logged with this request id');
  if (res.headersSent) return;
  res.status(answer.status).set(answer.headers).json({ ...answer.extra, error: { code: answer.code, message: answer.message, request_id: requestId } });
}

function toHttpError(err: unknown): HttpError | null {
  if (err instanceof HttpError) return err;
  const e = err as { type?: string; status?: number; expose?: boolean };
  // body-parser errors (express.json / express.raw)
  if (e?.type === 'entity.too.large') return new HttpError(413, 'payload_too_large', 'the request body is too large');
  if (e?.type === 'entity.parse.failed') return new HttpError(400, 'invalid_json', 'the request body is not valid JSON');
  if (e?.type === 'charset.unsupported' || e?.type === 'encoding.unsupported') return new HttpError(415, 'unsupported_encoding', 'unsupported body encoding');
  if (e?.expose && typeof e.status === 'number' && e.status >= 400 && e.status < 500) return new HttpError(e.status, 'invalid_request', 'the request could not be read');
  return null;
}

export function notFoundHandler(_req: Request, res: Response): void {
  res.status(404).json({ error: { code: 'not_found', message: 'no such endpoint', request_id: locals(res).requestId } });
}
