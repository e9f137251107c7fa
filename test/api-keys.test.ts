import type { Express } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTE_SCOPES } from '../src/api/route-scopes.js';
import { webhookRoutes } from '../src/api/routes/webhook-routes.js';
import { PayconfirmAuthenticationError, PayconfirmClient, PayconfirmPermissionError } from '../src/client/index.js';
import { createAccount } from '../src/db/accounts.js';
import { createApiKey, hashApiKey, InvalidApiKeyRequestError, listApiKeys, revokeApiKey } from '../src/db/api-keys.js';
import { creditPayment } from '../src/db/ledger.js';
import { API_KEY_SCOPES, type ApiKeyScope } from '../src/domain/api-key-scopes.js';
import { runPayconfirm, type CliRun } from './support/cli-process.js';
import { eventually } from './support/eventually.js';
import { startPaymentStack, type PaymentStack } from './support/payment-stack.js';
import { callApi } from './support/test-api.js';
import { uniqueSuffix } from './support/test-context.js';

/**
 * API keys on the real stack (Postgres, Temporal, the fake Stripe, the real HTTP API and CLI): several live keys per
 * account, revoke and expiry refused at once with their own 401 codes, scopes from one route table (403
 * insufficient_scope), secrets never listed, and a table that covers every authenticated route the app registers.
 */
let stack: PaymentStack;

beforeAll(async () => {
  // As production serves it: the webhook routes too, so the route table is checked against everything registered.
  stack = await startPaymentStack('api-keys', { extraRoutes: (deps) => [webhookRoutes(deps)] });
});
afterAll(async () => {
  await stack?.close();
});

async function newAccount(balance = 0): Promise<{ accountId: string; apiKey: string }> {
  const { account, apiKey } = await createAccount(stack.ctx.pool, { stripeCustomerId: `cus_keys${uniqueSuffix()}` });
  if (balance > 0) await creditPayment(stack.ctx.pool, { accountId: account.id, paymentIntentId: `pi_keys${uniqueSuffix()}`, amountMinor: balance, currency: 'usd' });
  return { accountId: account.id, apiKey };
}

const balance = (apiKey: string) => callApi(stack.api.url, 'GET', '/accounts/me/balance', { apiKey });
const debit = (apiKey: string, amount = 1) =>
  callApi(stack.api.url, 'POST', '/accounts/me/debits', { apiKey, body: { amount_minor: amount, currency: 'usd' }, headers: { 'idempotency-key': `k-${uniqueSuffix()}` } });

const lastUsedAt = async (keyId: string): Promise<Date | null> =>
  (await stack.ctx.pool.query<{ last_used_at: Date | null }>('SELECT last_used_at FROM api_keys WHERE id = $1', [keyId])).rows[0]!.last_used_at;

describe('several keys per account, revoke and expiry', () => {
  it('a second key works beside the first; revoking one refuses it at once (401 api_key_revoked) while the other works', async () => {
    const a = await newAccount();
    const second = await createApiKey(stack.ctx.pool, { id: a.accountId }, { name: 'rotation 2026-12' });
    expect(second.apiKey).toMatch(/^pcf_[A-Za-z0-9_-]{43}$/);
    expect(second.key).toMatchObject({ accountId: a.accountId, name: 'rotation 2026-12', scopes: [...API_KEY_SCOPES], state: 'live', revokedAt: null, expiresAt: null });
    expect((await balance(a.apiKey)).status).toBe(200);
    expect(await balance(second.apiKey)).toMatchObject({ status: 200, body: { account_id: a.accountId } });

    const first = (await listApiKeys(stack.ctx.pool, a.accountId)).find((k) => k.id !== second.key.id)!;
    expect(first).toMatchObject({ name: 'initial', scopes: [...API_KEY_SCOPES], state: 'live' });
    const revoked = await revokeApiKey(stack.ctx.pool, a.accountId, first.id);
    expect(revoked).toMatchObject({ alreadyRevoked: false, key: { id: first.id, state: 'revoked' } });

    const refused = await balance(a.apiKey);
    expect(refused.status).toBe(401);
    expect(refused.body.error).toMatchObject({ code: 'api_key_revoked' });
    expect(refused.headers.get('www-authenticate')).toBe('Bearer');
    expect((await debit(a.apiKey)).body.error).toMatchObject({ code: 'api_key_revoked' });
    expect((await balance(second.apiKey)).status).toBe(200);

    // Idempotent: the first revoked_at stays.
    const again = await revokeApiKey(stack.ctx.pool, a.accountId, first.id);
    expect(again).toMatchObject({ alreadyRevoked: true, key: { revokedAt: revoked!.key.revokedAt } });
    // Only the account's own keys: another account cannot revoke it, nor an id that is no key.
    const other = await newAccount();
    expect(await revokeApiKey(stack.ctx.pool, other.accountId, second.key.id)).toBeNull();
    expect(await revokeApiKey(stack.ctx.pool, a.accountId, 'not-a-key-id')).toBeNull();
    expect((await balance(second.apiKey)).status).toBe(200);
  });

  it('an expired key is refused with 401 api_key_expired from its expiry on; unknown and malformed keys stay 401 unauthenticated', async () => {
    const a = await newAccount();
    const lasting = await createApiKey(stack.ctx.pool, { id: a.accountId }, { expiresAt: new Date(Date.now() + 86_400_000) });
    const shortLived = await createApiKey(stack.ctx.pool, { id: a.accountId }, { expiresAt: new Date(Date.now() + 1_500) });
    const expired = await eventually(() => balance(shortLived.apiKey), (r) => r.status !== 200, { timeoutMs: 10_000, description: 'the key expired' });
    expect(expired.status).toBe(401);
    expect(expired.body.error).toMatchObject({ code: 'api_key_expired' });
    expect((await balance(lasting.apiKey)).status).toBe(200);
    expect((await listApiKeys(stack.ctx.pool, a.accountId)).find((k) => k.id === shortLived.key.id)?.state).toBe('expired');

    const unknown = await balance(`pcf_${'A'.repeat(43)}`);
    expect(unknown.status).toBe(401);
    expect(unknown.body.error).toMatchObject({ code: 'unauthenticated' });
    expect((await balance('not-a-key')).body.error).toMatchObject({ code: 'unauthenticated' });
    expect((await callApi(stack.api.url, 'GET', '/accounts/me/balance')).body.error).toMatchObject({ code: 'unauthenticated' });

    await expect(createApiKey(stack.ctx.pool, { id: a.accountId }, { expiresAt: new Date(Date.now() - 1) })).rejects.toBeInstanceOf(InvalidApiKeyRequestError);
    await expect(createApiKey(stack.ctx.pool, { id: a.accountId }, { scopes: [] })).rejects.toBeInstanceOf(InvalidApiKeyRequestError);
    await expect(createApiKey(stack.ctx.pool, { id: a.accountId }, { scopes: ['admin' as ApiKeyScope] })).rejects.toBeInstanceOf(InvalidApiKeyRequestError);
  });

  it('last_used_at is written at most once a minute per key, not on every request', async () => {
    const a = await newAccount();
    const { key, apiKey } = await createApiKey(stack.ctx.pool, { id: a.accountId });
    expect(await lastUsedAt(key.id)).toBeNull();
    expect((await balance(apiKey)).status).toBe(200);
    const firstUse = await lastUsedAt(key.id);
    expect(firstUse).toBeInstanceOf(Date);
    for (let i = 0; i < 5; i++) expect((await balance(apiKey)).status).toBe(200);
    expect(await lastUsedAt(key.id)).toEqual(firstUse);
    // Once the last write is older than a minute, the next request writes again.
    await stack.ctx.pool.query("UPDATE api_keys SET last_used_at = last_used_at - interval '61 seconds' WHERE id = $1", [key.id]);
    const aged = await lastUsedAt(key.id);
    expect((await balance(apiKey)).status).toBe(200);
    expect((await lastUsedAt(key.id))!.getTime()).toBeGreaterThan(aged!.getTime());
  });
});

describe('scopes', () => {
  it('a key with only read: 403 insufficient_scope naming spend on a debit, 200 on balance and ledger; nothing moves', async () => {
    const a = await newAccount(500);
    const reader = await createApiKey(stack.ctx.pool, { id: a.accountId }, { name: 'dashboard', scopes: ['read'] });
    const refused = await debit(reader.apiKey, 100);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ required_scope: 'spend', error: { code: 'insufficient_scope' } });
    expect(refused.body.error.message).toContain('"spend"');
    expect(await balance(reader.apiKey)).toMatchObject({ status: 200, body: { balances: [{ currency: 'usd', amount_minor: 500 }] } });
    expect((await callApi(stack.api.url, 'GET', '/accounts/me/ledger', { apiKey: reader.apiKey })).status).toBe(200);
    const refund = await callApi(stack.api.url, 'POST', '/billing/refunds', { apiKey: reader.apiKey, body: { payment_intent_id: 'pi_nope' }, headers: { 'idempotency-key': 'r-1' } });
    expect(refund.body).toMatchObject({ required_scope: 'refund', error: { code: 'insufficient_scope' } });
    // The full key still spends.
    expect((await debit(a.apiKey, 100)).status).toBe(201);
    expect((await balance(reader.apiKey)).body.balances[0].amount_minor).toBe(400);
  });

  it('the client raises PayconfirmPermissionError (403, requiredScope) and PayconfirmAuthenticationError (401, with the code)', async () => {
    const a = await newAccount(500);
    const reader = await createApiKey(stack.ctx.pool, { id: a.accountId }, { scopes: ['read'] });
    const client = (apiKey: string) => new PayconfirmClient({ baseUrl: stack.api.url, apiKey, retry: { maxAttempts: 1 } });
    expect((await client(reader.apiKey).getBalance()).balances).toHaveLength(1);
    const permission = await client(reader.apiKey).debit({ amountMinor: 10, currency: 'usd' }).catch((e: unknown) => e);
    expect(permission).toBeInstanceOf(PayconfirmPermissionError);
    expect(permission).toMatchObject({ httpStatus: 403, code: 'insufficient_scope', requiredScope: 'spend', retryable: false });

    await revokeApiKey(stack.ctx.pool, a.accountId, reader.key.id);
    const revoked = await client(reader.apiKey).getBalance().catch((e: unknown) => e);
    expect(revoked).toBeInstanceOf(PayconfirmAuthenticationError);
    expect(revoked).toMatchObject({ httpStatus: 401, code: 'api_key_revoked', retryable: false });
    const unknown = await client(`pcf_${'B'.repeat(43)}`).getBalance().catch((e: unknown) => e);
    expect(unknown).toMatchObject({ name: 'PayconfirmAuthenticationError', code: 'unauthenticated' });
  });
});

/** Every route the app registers, as [METHOD, path] (express 5: routers mounted at the root, their routes' full paths). */
function registeredRoutes(app: Express): { method: string; path: string }[] {
  const walk = (stack: any[]): { method: string; path: string }[] =>
    stack.flatMap((layer) =>
      layer.route
        ? Object.keys(layer.route.methods).filter((m) => m !== '_all').map((m) => ({ method: m.toUpperCase(), path: String(layer.route.path) }))
        : Array.isArray(layer.handle?.stack) ? walk(layer.handle.stack) : [],
    );
  return walk((app as any).router.stack);
}

const concretePath = (path: string) => path.replace(/:paymentIntentId\b/, 'pi_keysroute').replace(/:[A-Za-z]+/g, 'x');
/** One request to a route with sample values for its parameters; the body read as JSON when it is JSON (/metrics is not). */
async function send(method: string, path: string, apiKey?: string): Promise<{ status: number; body: any }> {
  const res = await fetch(stack.api.url + concretePath(path), {
    method,
    headers: { ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}), ...(method === 'POST' ? { 'content-type': 'application/json', 'idempotency-key': `cover-${uniqueSuffix()}` } : {}) },
    ...(method === 'POST' ? { body: '{}' } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: res.headers.get('content-type')?.includes('application/json') && text ? JSON.parse(text) : null };
}

describe('the route-scope table (src/api/route-scopes.ts)', () => {
  it('covers exactly the routes the app serves behind API-key authentication: a new route without a scope fails here', async () => {
    // A revoked key is refused with api_key_revoked only by API-key authentication, before any scope is looked up:
    // a route behind it that the table lacks still shows up here (and answers 404 to live keys: fail closed).
    const a = await newAccount();
    const revoked = await createApiKey(stack.ctx.pool, { id: a.accountId });
    await revokeApiKey(stack.ctx.pool, a.accountId, revoked.key.id);
    const routes = registeredRoutes(stack.api.app);
    expect(routes.length).toBeGreaterThan(ROUTE_SCOPES.length); // health, metrics and webhooks are not behind keys
    const behindKeys: string[] = [];
    for (const route of routes) {
      const answer = await send(route.method, route.path, revoked.apiKey);
      expect(answer.status, `${route.method} ${route.path} with a revoked key`).not.toBe(404);
      if (answer.body?.error?.code === 'api_key_revoked') behindKeys.push(`${route.method} ${route.path}`);
    }
    expect(behindKeys.sort()).toEqual(ROUTE_SCOPES.map((r) => `${r.method} ${r.path}`).sort());
  });

  it('each row is enforced: a key lacking the scope gets 403 naming it; a key with only that scope gets past authorization', async () => {
    const a = await newAccount();
    for (const row of ROUTE_SCOPES) {
      const without = await createApiKey(stack.ctx.pool, { id: a.accountId }, { scopes: API_KEY_SCOPES.filter((s) => s !== row.scope) });
      const only = await createApiKey(stack.ctx.pool, { id: a.accountId }, { scopes: [row.scope] });
      const refused = await send(row.method, row.path, without.apiKey);
      expect(refused.status, `${row.method} ${row.path} without ${row.scope}`).toBe(403);
      expect(refused.body).toMatchObject({ required_scope: row.scope, error: { code: 'insufficient_scope' } });
      const allowed = await send(row.method, row.path, only.apiKey);
      expect([401, 403], `${row.method} ${row.path} with only ${row.scope}: ${JSON.stringify(allowed.body)}`).not.toContain(allowed.status);
    }
  });
});

describe('payconfirm accounts keys (subprocess CLI)', () => {
  const payconfirm = (args: string[]): Promise<CliRun> =>
    runPayconfirm(args, { DATABASE_URL: stack.ctx.databaseUrl, DATABASE_SCHEMA: stack.ctx.schema });

  it('create → list → revoke round trip; the secret is printed once and never listed', async () => {
    const a = await newAccount(300);
    const created = await payconfirm(['accounts', 'keys', 'create', a.accountId, '--name', 'ci reader', '--scopes', 'confirm,read', '--expires-in', '30d']);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toMatch(/Store the api_key now/);
    const secret: string = created.json.api_key;
    expect(secret).toMatch(/^pcf_[A-Za-z0-9_-]{43}$/);
    expect(created.json).toMatchObject({ account_id: a.accountId, name: 'ci reader', scopes: ['read', 'confirm'], state: 'live', prefix: secret.slice(0, 10), last4: secret.slice(-4) });
    const expiresInDays = (Date.parse(created.json.expires_at) - Date.now()) / 86_400_000;
    expect(expiresInDays).toBeGreaterThan(29.9);
    expect(expiresInDays).toBeLessThanOrEqual(30);
    expect((await balance(secret)).status).toBe(200);
    expect((await debit(secret)).body).toMatchObject({ required_scope: 'spend' });

    const [listed, table] = await Promise.all([payconfirm(['accounts', 'keys', 'list', a.accountId, '--json']), payconfirm(['accounts', 'keys', 'list', a.accountId])]);
    expect(listed.code).toBe(0);
    expect(listed.json.map((k: { name: string }) => k.name)).toEqual(['initial', 'ci reader']);
    expect(listed.json[1]).toMatchObject({ key_id: created.json.key_id, scopes: ['read', 'confirm'], state: 'live', prefix: secret.slice(0, 10), last4: secret.slice(-4) });
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(created.json.key_id);
    expect(table.stdout).toContain(`${secret.slice(0, 10)}…${secret.slice(-4)}`);
    const hash = hashApiKey(secret);
    for (const output of [listed.stdout, table.stdout, JSON.stringify(await listApiKeys(stack.ctx.pool, a.accountId))]) {
      expect(output).not.toContain(secret);
      expect(output).not.toContain(secret.slice(10, -4));
      expect(output).not.toContain(hash.toString('hex'));
      expect(output).not.toContain(hash.toString('base64'));
    }

    const revoked = await payconfirm(['accounts', 'keys', 'revoke', a.accountId, created.json.key_id, '--json']);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.json).toMatchObject({ key_id: created.json.key_id, state: 'revoked', already_revoked: false });
    expect((await balance(secret)).body.error).toMatchObject({ code: 'api_key_revoked' });
    expect((await balance(a.apiKey)).status).toBe(200);
    const again = await payconfirm(['accounts', 'keys', 'revoke', a.accountId, created.json.key_id]);
    expect(again).toMatchObject({ code: 0 });
    expect(again.stdout).toContain(`already revoked ${created.json.key_id} at ${revoked.json.revoked_at}`);
  });

  it('refuses what it cannot do: unknown scopes or durations (exit 1), an unknown account or key (exit 4)', async () => {
    const a = await newAccount();
    const [badScope, badDuration, noAccount, noKey, noKeyId] = await Promise.all([
      payconfirm(['accounts', 'keys', 'create', a.accountId, '--scopes', 'read,admin']),
      payconfirm(['accounts', 'keys', 'create', a.accountId, '--expires-in', 'soon']),
      payconfirm(['accounts', 'keys', 'create', '00000000-0000-4000-8000-000000000000']),
      payconfirm(['accounts', 'keys', 'revoke', a.accountId, '00000000-0000-4000-8000-000000000000']),
      payconfirm(['accounts', 'keys', 'revoke', a.accountId]),
    ]);
    expect(badScope.code).toBe(1);
    expect(badScope.stderr).toContain('--scopes is a comma-separated list of read, confirm, spend, refund');
    expect(badDuration.code).toBe(1);
    expect(badDuration.stderr).toContain('--expires-in takes a duration');
    expect(noAccount.code).toBe(4);
    expect(noAccount.stderr).toContain('no account 00000000-0000-4000-8000-000000000000');
    expect(noKey.code).toBe(4);
    expect(noKey.stderr).toContain('has no key');
    expect(noKeyId.code).toBe(1);
    expect((await listApiKeys(stack.ctx.pool, a.accountId)).map((k) => k.name)).toEqual(['initial']);
  });
});
