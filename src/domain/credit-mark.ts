import { OWN_METADATA_PREFIX } from './credit-policy.js';

/**
 * The mark payconfirm writes on a credited PaymentIntent's metadata: its own `payconfirm_…` keys only.
 * Metadata anything else wrote (`credited`, `balance_transaction_id`, …) is never taken as proof of a credit.
 * Workflow-safe (pure).
 */
export interface CreditMark {
  ledgerEntryId: string;
  /** The credit's mirror transaction; null when there is none (mirror off). */
  balanceTransactionId: string | null;
}

export const CREDITED_KEY = `${OWN_METADATA_PREFIX}credited`;

/** The metadata to write; identical on every attempt (Stripe refuses a changed body under one Idempotency-Key). */
export function creditMarkMetadata(mark: CreditMark): Record<string, string> {
  return {
    [CREDITED_KEY]: 'true',
    [`${OWN_METADATA_PREFIX}ledger_entry_id`]: mark.ledgerEntryId,
    [`${OWN_METADATA_PREFIX}balance_transaction_id`]: mark.balanceTransactionId ?? '',
  };
}

/** Whether the metadata carries exactly this mark (Stripe drops keys set to '': absent equals ''). */
export const carriesCreditMark = (current: Readonly<Record<string, string>> | null | undefined, mark: CreditMark): boolean =>
  Object.entries(creditMarkMetadata(mark)).every(([k, v]) => (current?.[k] ?? '') === v);

/** Whether payconfirm's own mark says the PaymentIntent was credited (a fast path for confirm; the ledger decides). */
export const isMarkedCredited = (metadata: Readonly<Record<string, string>>): boolean => metadata[CREDITED_KEY] === 'true';
