/** A payconfirm account id (a UUID), as callers and operators name it. Workflow-safe (pure). */
export const isAccountId = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v);
