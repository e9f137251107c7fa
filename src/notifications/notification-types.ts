import type { LedgerEntryKind } from '../db/ledger.js';

/**
 * The bodies payconfirm sends to NOTIFICATION_WEBHOOK_URL, one type each (docs/notifications.md, "Outgoing notifications").
 * Every body has the Standard Webhooks shape `{type, timestamp, data}`; the `webhook-id` header identifies the
 * notification (the same on every retry and replay): receivers deduplicate on it. Money is an integer count of the
 * currency's minor unit plus a lower-case ISO currency. No body ever carries a secret.
 */

/** `ledger.movement.created`: one per ledger movement, built by the ledger trigger (the SQL is the source of truth). */
export const LEDGER_MOVEMENT_CREATED = 'ledger.movement.created';

export interface LedgerMovementCreated {
  type: typeof LEDGER_MOVEMENT_CREATED;
  /** When the movement was written (ISO 8601, UTC, milliseconds). */
  timestamp: string;
  data: {
    ledger_entry_id: string;
    /** The ledger's order: a later movement has a larger seq (notifications themselves may arrive in any order). */
    seq: number;
    account_id: string;
    kind: LedgerEntryKind;
    /** Signed as the ledger sees it: a credit or reversal positive, a debit negative. */
    amount_minor: number;
    currency: string;
    /** The movement's idempotency key, equal to the `webhook-id`. */
    idempotency_key: string;
    /** Set for payment_credit, refund_debit, refund_reversal, dispute_debit, dispute_reversal. */
    payment_intent_id: string | null;
    /** Set for refund_debit and refund_reversal. */
    stripe_refund_id: string | null;
    /** Set for dispute_debit and dispute_reversal. */
    stripe_dispute_id: string | null;
    /** Free text for people: the adjustment's reason, the debit's reference, "Stripe refund debit re_…". */
    reference: string | null;
    /** usage_debit only: the caller's own labels (string values). */
    metadata: Record<string, string> | null;
    created_at: string;
  };
}
