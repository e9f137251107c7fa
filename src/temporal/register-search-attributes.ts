import type { Connection } from '@temporalio/client';
// @temporalio/proto is CommonJS without named-export hints: Node's ESM loader needs the default import.
import proto from '@temporalio/proto';
import { PAYCONFIRM_SEARCH_ATTRIBUTES } from './search-attributes.js';

const { IndexedValueType } = proto.temporal.api.enums.v1;

const INDEXED_TYPE: Record<string, (typeof IndexedValueType)[keyof typeof IndexedValueType]> = {
  KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  INT: IndexedValueType.INDEXED_VALUE_TYPE_INT,
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
