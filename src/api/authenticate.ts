import type { NextFunction, Request, Response } from 'express';
import { findLiveKey } from '../db/api-keys.js';
import type { Pool } from '../db/pool.js';
import { insufficientScope, notFound, unauthenticated, type UnauthenticatedReason } from './http-errors.js';
import { locals } from './request-context.js';
import { scopeForRequest } from './route-scopes.js';

const REFUSALS = { unknown: 'unauthenticated', revoked: 'api_key_revoked', expired: 'api_key_expired' } as const satisfies Record<string, UnauthenticatedReason>;

/**
 * `Authorization: Bearer pcf_…` → the key's account (keys are stored hashed), read fresh on every request so a revoke
 * or an expiry holds at once: unknown → 401 `unauthenticated`, revoked → 401 `api_key_revoked`, expired → 401
 * `api_key_expired`. Then the route's scope (src/api/route-scopes.ts): missing → 403 `insufficient_scope`.
 */
export function authenticate(pool: Pool) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const match = /^Bearer\s+(\S+)$/i.exec(req.header('authorization') ?? '');
    const presented = match ? await findLiveKey(pool, match[1]!) : { state: 'unknown' as const };
    if (presented.state !== 'live') throw unauthenticated(REFUSALS[presented.state]);
    const { account, key } = presented;
    locals(res).account = account;
    locals(res).apiKeyId = key.id;
    locals(res).log = locals(res).log.child({ accountId: account.id, apiKeyId: key.id });
    const needed = scopeForRequest(req.method, req.baseUrl + req.path);
    // A route without a row in the table is served to no key (test/api-keys.test.ts makes every route have one).
    if (!needed) throw notFound('no such endpoint');
    if (!key.scopes.includes(needed)) throw insufficientScope(needed);
    next();
  };
}
