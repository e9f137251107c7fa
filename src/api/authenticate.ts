import type { NextFunction, Request, Response } from 'express';
import { findAccountByApiKey } from '../db/accounts.js';
import type { Pool } from '../db/pool.js';
import { unauthenticated } from './http-errors.js';
import { locals } from './request-context.js';

/** `Authorization: Bearer pcf_…` → the key's account (keys are stored hashed); 401 otherwise. */
export function authenticate(pool: Pool) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const match = /^Bearer\s+(\S+)$/i.exec(req.header('authorization') ?? '');
    const account = match ? await findAccountByApiKey(pool, match[1]!) : null;
    if (!account) throw unauthenticated();
    locals(res).account = account;
    locals(res).log = locals(res).log.child({ accountId: account.id });
    next();
  };
}
