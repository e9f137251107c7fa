import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Account } from '../db/accounts.js';
import type { Logger } from '../logger.js';

export interface RequestLocals {
  requestId: string;
  log: Logger;
  account?: Account;
  /** The id (never the secret) of the API key that authenticated the request. */
  apiKeyId?: string;
}

export const locals = (res: Response): RequestLocals => res.locals as RequestLocals;

/** Gives each request an id (a caller's X-Request-Id if sane, else a new one) and a child logger carrying it. */
export function requestContext(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction) => {
    const incoming = req.header('x-request-id');
    const requestId = incoming && /^[A-Za-z0-9._:-]{8,128}$/.test(incoming) ? incoming : `req_${randomUUID()}`;
    res.setHeader('X-Request-Id', requestId);
    Object.assign(res.locals, { requestId, log: logger.child({ requestId }) } satisfies RequestLocals);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      locals(res).log.info({ method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms) }, 'request');
    });
    next();
  };
}
