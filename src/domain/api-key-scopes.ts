/**
 * What an API key may do. Every authenticated route needs exactly one of these (src/api/route-scopes.ts); a key
 * carries a set of them. Workflow-safe (pure).
 *   read     GET balance, ledger, subscriptions, a payment's status
 *   confirm  POST /billing/confirm_payment
 *   spend    POST /accounts/me/debits
 *   refund   POST /billing/refunds
 */
export const API_KEY_SCOPES = ['read', 'confirm', 'spend', 'refund'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

export const isApiKeyScope = (v: unknown): v is ApiKeyScope => typeof v === 'string' && (API_KEY_SCOPES as readonly string[]).includes(v);

/**
 * `read,confirm` → the scopes in their canonical order, no duplicates; null when empty or naming anything else.
 * The one reader of a scope list written by people (CLI flags).
 */
export function parseScopeList(text: string): ApiKeyScope[] | null {
  const named = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (named.length === 0 || !named.every(isApiKeyScope)) return null;
  return API_KEY_SCOPES.filter((scope) => named.includes(scope));
}
