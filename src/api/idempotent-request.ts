import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Account } from '../db/accounts.js';
import {
  claimIdempotencyKey,
  completeIdempotencyKey,
  releaseIdempotencyKey,
  type IdempotencySettings,
  type RecoveryPoint,
  type IdempotentRequest,
  type StoredResponse,
} from '../db/idempotency-keys.js';
import { inTransaction, type Pool, type PoolClient } from '../db/pool.js';
import { badRequest, HttpError } from './http-errors.js';
import { locals } from './request-context.js';

/** 1–255 printable ASCII characters, as Stripe accepts. */
const IDEMPOTENCY_KEY = /^[\x20-\x7e]{1,255}$/;

/** JSON with object keys sorted, so two bodies that mean the same hash the same. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The caller's Idempotency-Key for this request, checked: 400 `idempotency_key_required` / `idempotency_key_invalid`. */
export function idempotentRequestOf(req: Request, account: Account): IdempotentRequest {
  const key = req.header('idempotency-key');
  if (key === undefined || key === '') throw badRequest('this request moves money: send an Idempotency-Key header (one per logical request, reused on its retries)', 'idempotency_key_required');
  if (!IDEMPOTENCY_KEY.test(key)) throw badRequest('Idempotency-Key must be 1–255 printable ASCII characters', 'idempotency_key_invalid');
  const path = req.baseUrl + req.path;
  const hash = createHash('sha256').update(`${req.method}\n${path}\n${canonicalJson(req.body ?? null)}`).digest();
  return { accountId: account.id, key, method: req.method, path, hash };
}

function sendStored(res: Response, response: StoredResponse, replayed: boolean): void {
  res.status(response.status).set(replayed ? { 'Idempotent-Replayed': 'true' } : {}).json(response.body);
}

/** A claimed key, handed to work that calls out: it stores its recovery point and its answer itself. */
export interface ClaimedKey {
  request: IdempotentRequest;
  lockToken: string;
  /** What an earlier attempt stored before calling out; a retry sends exactly that. */
  recovery: RecoveryPoint | null;
}

/** An answer that is never a key's last: the key is given back so a retry runs (Stripe's rule for 429 and 5xx). */
const isPassing = (err: unknown): boolean => !(err instanceof HttpError) || err.status >= 500 || err.status === 429;

/**
 * Runs a money-moving request once per (account, Idempotency-Key), as Stripe's API behaves: the first answer (2xx or
 * 4xx) is stored and replayed for the same request (`Idempotent-Replayed: true`); the same key with another request
 * is 422 `idempotency_key_reused`; while the first is running, 409 `request_in_progress` with `Retry-After`; a 5xx
 * or a 429 gives the key back (never a final answer; its Retry-After reaches the caller).
 *
 * `run` owns its transactions and must hold none across a network call (src/db/idempotency-keys.ts has the phases):
 * `respondIdempotently` for work that is all local, `ClaimedKey` for work that calls out. A refused body must be
 * refused before calling this, so it does not burn the key.
 */
export async function respondIdempotentlyInPhases(
  deps: { pool: Pool; settings: { idempotency: IdempotencySettings } },
  req: Request,
  res: Response,
  account: Account,
  run: (claimed: ClaimedKey) => Promise<StoredResponse>,
): Promise<void> {
  const request = idempotentRequestOf(req, account);
  const claim = await claimIdempotencyKey(deps.pool, request, deps.settings.idempotency);
  switch (claim.kind) {
    case 'replay':
      return sendStored(res, claim.response, true);
    case 'reused':
      throw new HttpError(422, 'idempotency_key_reused', 'this Idempotency-Key was used for a different request; use a new key for a new request');
    case 'in_flight':
      throw new HttpError(409, 'request_in_progress', 'a request with this Idempotency-Key is still being processed; retry shortly', {
        'Retry-After': String(claim.retryAfterSeconds),
      });
    case 'claimed':
      break;
  }
  let answer: StoredResponse;
  try {
    answer = await run({ request, lockToken: claim.lockToken, recovery: claim.recovery });
  } catch (err) {
    if (isPassing(err)) {
      await releaseIdempotencyKey(deps.pool, request, claim.lockToken).catch((releaseErr: unknown) =>
        locals(res).log.warn({ err: { message: (releaseErr as Error).message } }, 'could not release an Idempotency-Key; it frees itself when its lease ends'),
      );
      throw err;
    }
    // A 4xx is an answer too: stored, so a retry hears the same (the work changed nothing before refusing).
    const refusal = err as HttpError;
    answer = errorAnswer(refusal);
    await completeIdempotencyKey(deps.pool, request, claim.lockToken, answer);
    res.set(refusal.headers);
  }
  sendStored(res, answer, false);
}

/** A refusal as it is stored and sent. */
export const errorAnswer = (err: HttpError): StoredResponse => ({ status: err.status, body: { ...err.extra, error: { code: err.code, message: err.message } } });

/**
 * `respondIdempotentlyInPhases` for work that is all local (a ledger debit): `work` runs in one transaction that also
 * stores its answer, so the money and the answer commit together, or neither does (a crash mid-request leaves the
 * key held until its lease runs out, then a retry runs).
 */
export function respondIdempotently(
  deps: { pool: Pool; settings: { idempotency: IdempotencySettings } },
  req: Request,
  res: Response,
  account: Account,
  work: (tx: PoolClient) => Promise<StoredResponse>,
): Promise<void> {
  return respondIdempotentlyInPhases(deps, req, res, account, ({ request, lockToken }) =>
    inTransaction(deps.pool, async (tx) => {
      const response = await work(tx);
      await completeIdempotencyKey(tx, request, lockToken, response);
      return response;
    }),
  );
}
