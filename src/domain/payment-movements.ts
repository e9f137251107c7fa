import {
  ledgerKeyForDisputeDebit,
  ledgerKeyForDisputeReversal,
  ledgerKeyForPaymentCredit,
  ledgerKeyForRefundDebit,
  ledgerKeyForRefundReversal,
} from './idempotency-keys.js';
import { REFUND_MONEY_LEFT, REFUND_MONEY_RETURNED, type PaymentTruth } from './payment-truth.js';

/**
 * The money model: from Stripe's truth about a PaymentIntent to the movements its books must hold.
 * One place for the rule; the payment workflow, `payconfirm reconcile` and the tests all use it.
 * Workflow-safe (pure).
 */

export const MOVEMENT_KINDS = ['payment_credit', 'refund_debit', 'refund_reversal', 'dispute_debit', 'dispute_reversal'] as const;
export type MovementKind = (typeof MOVEMENT_KINDS)[number];

export interface Movement {
  /** The ledger idempotency key, made from Stripe ids only (src/domain/idempotency-keys.ts). */
  key: string;
  kind: MovementKind;
  paymentIntentId: string;
  /** As the ledger sees it: a credit is positive, a debit negative. The mirror carries the opposite. */
  amountMinor: number;
  currency: string;
  /** The Stripe object the movement follows: `pi_…`, `re_…` or `dp_…`. */
  stripeObjectId: string;
  /** A refund debit of a refund asked through the API: the hold it settles (same transaction, a trigger). */
  holdId?: string;
}

/**
 * Every movement the PaymentIntent's books must hold, in the order they apply (credit first).
 *
 * | Stripe says                                   | movements                                   |
 * | --------------------------------------------- | ------------------------------------------- |
 * | PaymentIntent succeeded                       | credit of amount_received                   |
 * | refund pending, requires_action or succeeded  | refund debit (Stripe took the money back)   |
 * | refund failed or canceled, debit applied      | refund debit + its reversal (net 0)         |
 * | refund failed or canceled, never debited      | nothing                                     |
 * | dispute funds withdrawn                       | dispute debit                               |
 * | dispute funds withdrawn, then reinstated (won)| dispute debit + its reversal (net 0)        |
 * | dispute inquiry (warning_*), no withdrawal    | nothing                                     |
 * | dispute debit applied, Stripe shows it again  | kept: the ledger is append-only             |
 *
 * `applied` holds the keys the ledger already has: it decides only whether a returned refund had been
 * debited (then it needs its reversal). A movement once applied is always intended again, so a plan never
 * asks to take one back except through a reversal that Stripe's state justifies.
 */
export function intendedMovements(truth: PaymentTruth, applied: ReadonlySet<string>): Movement[] {
  const pi = truth.paymentIntent;
  if (pi.status !== 'succeeded') return [];
  const movement = (key: string, kind: MovementKind, amountMinor: number, currency: string, stripeObjectId: string): Movement => ({
    key,
    kind,
    paymentIntentId: pi.id,
    amountMinor,
    currency,
    stripeObjectId,
  });
  const movements = [movement(ledgerKeyForPaymentCredit(pi.id), 'payment_credit', pi.amountReceivedMinor, pi.currency, pi.id)];

  for (const refund of [...truth.refunds].sort(byId)) {
    const debitKey = ledgerKeyForRefundDebit(refund.id);
    const debited = REFUND_MONEY_LEFT.includes(refund.status) || applied.has(debitKey);
    if (!debited) continue;
    movements.push({ ...movement(debitKey, 'refund_debit', -refund.amountMinor, refund.currency, refund.id), ...(refund.holdId ? { holdId: refund.holdId } : {}) });
    if (REFUND_MONEY_RETURNED.includes(refund.status)) {
      movements.push(movement(ledgerKeyForRefundReversal(refund.id), 'refund_reversal', refund.amountMinor, refund.currency, refund.id));
    }
  }

  for (const dispute of [...truth.disputes].sort(byId)) {
    const debitKey = ledgerKeyForDisputeDebit(dispute.id);
    const debited = dispute.fundsWithdrawn || applied.has(debitKey);
    if (!debited) continue;
    movements.push(movement(debitKey, 'dispute_debit', -dispute.amountMinor, dispute.currency, dispute.id));
    if (dispute.fundsReinstated) {
      movements.push(movement(ledgerKeyForDisputeReversal(dispute.id), 'dispute_reversal', dispute.amountMinor, dispute.currency, dispute.id));
    }
  }
  return movements;
}

/** The intended movements the books do not hold yet, in order. */
export const missingMovements = (intended: readonly Movement[], applied: ReadonlySet<string>): Movement[] =>
  intended.filter((m) => !applied.has(m.key));

/** Sum of movements as the ledger holds them. */
export const netMinor = (movements: readonly Pick<Movement, 'amountMinor'>[]): number => movements.reduce((sum, m) => sum + m.amountMinor, 0);

const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
