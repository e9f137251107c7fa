import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { PAYCONFIRM_SEARCH_ATTRIBUTES } from './search-attributes.js';

const INDEXED_TYPE: Record<string, temporal.api.enums.v1.IndexedValueType> = {
  KEYWORD: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  INT: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
};

/**
 * Registers payconfirm's custom search attributes on a Temporal cluster (self-hosted; Temporal Cloud
 * namespaces take them through its UI or tcld). Idempotent: attributes already present are left alone.
 * Returns the names it added.
 */
export async function registerSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const present = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = PAYCONFIRM_SEARCH_ATTRIBUTES.filter((k) => !present.has(k.name));
  if (missing.length === 0) return [];
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((k) => [k.name, INDEXED_TYPE[k.type]!])),
  });
  return missing.map((k) => k.name);
}
