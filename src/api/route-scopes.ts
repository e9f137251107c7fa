import type { ApiKeyScope } from '../domain/api-key-scopes.js';

/**
 * The one table of what each authenticated route needs: a key without the scope gets 403 `insufficient_scope`.
 * A route the app registers behind authentication but missing here answers 404 to every key (fail closed), and
 * test/api-keys.test.ts fails: every route needs its row.
 */
export const ROUTE_SCOPES = [
  { method: 'GET', path: '/accounts/me/balance', scope: 'read' },
  { method: 'GET', path: '/accounts/me/ledger', scope: 'read' },
  { method: 'GET', path: '/accounts/me/subscriptions', scope: 'read' },
  { method: 'POST', path: '/accounts/me/debits', scope: 'spend' },
  { method: 'POST', path: '/billing/confirm_payment', scope: 'confirm' },
  { method: 'POST', path: '/billing/refunds', scope: 'refund' },
  { method: 'GET', path: '/billing/payments/:paymentIntentId', scope: 'read' },
] as const satisfies readonly { method: 'GET' | 'POST'; path: string; scope: ApiKeyScope }[];

export type ScopedRoute = (typeof ROUTE_SCOPES)[number];

/** `/billing/payments/:id` matches `/billing/payments/pi_1`: a `:name` segment is any one non-empty segment. */
const pathMatches = (pattern: string, path: string): boolean => {
  const want = pattern.split('/');
  const got = path.replace(/\/+$/, '').split('/');
  return want.length === got.length && want.every((segment, i) => (segment.startsWith(':') ? got[i]!.length > 0 : segment === got[i]));
};

/** The scope a request needs (HEAD reads as GET, as express routes it), or null when no route of the table matches. */
export function scopeForRequest(method: string, path: string): ApiKeyScope | null {
  const asRouted = method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase();
  return ROUTE_SCOPES.find((r) => r.method === asRouted && pathMatches(r.path, path))?.scope ?? null;
}
