import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes operators use in the Temporal UI to find payments
 * (e.g. `PaymentStage="needs_attention"`). Workflow-safe: no I/O, imported by workflows, worker, CLI and dev stack.
 */
export const PaymentIntentIdKey = defineSearchAttributeKey('PaymentIntentId', SearchAttributeType.KEYWORD);
export const StripeCustomerIdKey = defineSearchAttributeKey('StripeCustomerId', SearchAttributeType.KEYWORD);
export const AccountIdKey = defineSearchAttributeKey('AccountId', SearchAttributeType.KEYWORD);
export const PaymentStageKey = defineSearchAttributeKey('PaymentStage', SearchAttributeType.KEYWORD);
export const StripeEventTypeKey = defineSearchAttributeKey('StripeEventType', SearchAttributeType.KEYWORD);
export const AmountMinorKey = defineSearchAttributeKey('AmountMinor', SearchAttributeType.INT);

export const PAYCONFIRM_SEARCH_ATTRIBUTES = [
  PaymentIntentIdKey,
  StripeCustomerIdKey,
  AccountIdKey,
  PaymentStageKey,
  StripeEventTypeKey,
  AmountMinorKey,
] as const;

/** `Name=Type` pairs in the form `temporal server start-dev --search-attribute` takes. */
export function searchAttributeFlags(): string[] {
  const cliType = { KEYWORD: 'Keyword', INT: 'Int' } as Record<string, string>;
  return PAYCONFIRM_SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=${cliType[key.type] ?? key.type}`]);
}
