import type { NextFunction, Request, Response } from 'express';
import { scrubSecrets } from '../logger.js';
import { isDatabaseOutage } from '../db/database-unavailable.js';
import { HttpError, unavailable } from './http-errors.js';
import { locals } from './request-context.js';

/** The only place errors become HTTP answers: always JSON, never a stack trace. */
export function errorHandler(err: unknown, _req: Request, res: Response, _next: NextFunction): void {
  const { requestId, log } = locals(res);
  const known = toHttpError(err);
  const logged = { err: { name: (err as Error)?.name, message: scrubSecrets(String((err as Error)?.message ?? err)) } };
  if (known === DATABASE_UNAVAILABLE) log.warn(logged, 'database unavailable: answered 503');
  else if (!known) log.error(logged, 'unhandled error');
  const answer = known ?? new HttpError(500, 'internal_error', 'something went wrong; it was logged with this request id');
  if (res.headersSent) return;
  res.status(answer.status).set(answer.headers).json({ ...answer.extra, error: { code: answer.code, message: answer.message, request_id: requestId } });
}

/** Postgres out of reach (src/db/database-unavailable.ts): a short retry, nothing of the cause (host, port, SQLSTATE) told. */
const DATABASE_UNAVAILABLE = unavailable('database_unavailable', 'the database is unavailable; retry shortly', 5);

function toHttpError(err: unknown): HttpError | null {
  if (err instanceof HttpError) return err;
  if (isDatabaseOutage(err)) return DATABASE_UNAVAILABLE;
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
