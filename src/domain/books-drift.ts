import type { MoneyPolicy } from './credit-policy.js';
import { intendedMovements, netMinor } from './payment-movements.js';
import { planPayment, type PaymentBooks } from './payment-plan.js';
import { stripeNetMinor, type PaymentTruth } from './payment-truth.js';

/**
 * Drift between a payment's three books — Stripe's truth, the ledger, and the Stripe customer-balance mirror —
 * found by the same decision function the workflow uses (planPayment). Pure: `payconfirm reconcile` feeds it
 * fresh reads and prints what it returns. Workflow-safe.
 */

/** A customer balance transaction naming the PaymentIntent in its metadata (what Stripe's side of the mirror holds). */
export interface StripeMirrorTransaction {
  id: string;
  /** Stripe's sign: a customer credit is negative. */
  amountMinor: number;
  /** `metadata.payconfirm_movement`: the ledger movement it mirrors (null when something else wrote it). */
  movementKey: string | null;
}

export type DriftKind =
  /** Stripe's truth calls for a ledger movement the ledger lacks. */
  | 'missing_movement'
  /** The ledger holds a movement Stripe's truth does not call for (or with another amount). */
  | 'unexpected_movement'
  /** A ledger movement with no mirror transaction recorded (mirror on). */
  | 'unmirrored_movement'
  /** The mirror transaction recorded for a movement is not on the Stripe customer. */
  | 'mirror_missing_in_stripe'
  /** A Stripe transaction names the PaymentIntent but mirrors no ledger movement (or mirrors one twice). */
  | 'unexpected_mirror_transaction'
  /** The payment waits for an operator: reconcile cannot decide for them. */
  | 'needs_attention';

export interface Drift {
  kind: DriftKind;
  /** A ledger movement key or a Stripe id. */
  subject: string;
  detail: string;
}

export interface BooksComparison {
  paymentIntentId: string;
  currency: string;
  /** Amount received − refunds out − disputed funds withdrawn, from Stripe. */
  stripeNetMinor: number;
  /** What the ledger should hold for it under the policy and the lasting decisions (0 when rejected or not eligible). */
  intendedNetMinor: number;
  ledgerNetMinor: number;
  /** −(sum of the mirror transactions on Stripe); null when no mirror is kept (off, skipped, or no credit yet). */
  mirrorNetMinor: number | null;
  /** What the payment is, in a word: credited, rejected, not_eligible, not_payable, waiting, needs_attention. */
  status: string;
  drift: Drift[];
}

export function compareBooks(
  truth: PaymentTruth,
  books: PaymentBooks,
  policy: MoneyPolicy,
  stripeMirror: readonly StripeMirrorTransaction[] | null,
): BooksComparison {
  const pi = truth.paymentIntent;
  const booked = new Map(books.movements.map((m) => [m.key, m]));
  const plan = planPayment(truth, books, policy);
  const intended = plan.kind === 'apply' || plan.kind === 'attention' ? intendedMovements(truth, new Set(booked.keys())) : [];
  const intendedKeys = new Map(intended.map((m) => [m.key, m]));
  const drift: Drift[] = [];

  if (plan.kind === 'attention') drift.push({ kind: 'needs_attention', subject: pi.id, detail: `${plan.reason}: ${plan.detail}` });
  for (const m of intended) {
    const have = booked.get(m.key);
    if (!have) drift.push({ kind: 'missing_movement', subject: m.key, detail: `${m.kind} ${m.amountMinor} ${m.currency} is not in the ledger` });
    else if (have.amountMinor !== m.amountMinor || have.currency !== m.currency) {
      drift.push({ kind: 'unexpected_movement', subject: m.key, detail: `ledger holds ${have.amountMinor} ${have.currency}, Stripe says ${m.amountMinor} ${m.currency}` });
    }
  }
  for (const m of books.movements) {
    if (!intendedKeys.has(m.key)) drift.push({ kind: 'unexpected_movement', subject: m.key, detail: `${m.kind} ${m.amountMinor} ${m.currency}: Stripe's truth does not call for it` });
  }

  const mirrorKept = stripeMirror !== null && books.accountOfRecord !== null && policy.balanceMirror === 'on' && books.decisions.mirrorSkipped === null;
  if (mirrorKept) {
    const byId = new Map(stripeMirror.map((t) => [t.id, t]));
    const claimed = new Set<string>();
    for (const m of books.movements) {
      if (m.balanceTransactionId === null) {
        drift.push({ kind: 'unmirrored_movement', subject: m.key, detail: `${m.kind} ${m.amountMinor} ${m.currency} has no mirror transaction` });
        continue;
      }
      const tx = byId.get(m.balanceTransactionId);
      if (!tx || tx.amountMinor !== -m.amountMinor) {
        drift.push({
          kind: 'mirror_missing_in_stripe',
          subject: m.key,
          detail: `mirror transaction ${m.balanceTransactionId} (${-m.amountMinor}) is not on customer ${books.accountOfRecord!.stripeCustomerId}`,
        });
      } else claimed.add(tx.id);
    }
    for (const t of stripeMirror) {
      if (!claimed.has(t.id)) drift.push({ kind: 'unexpected_mirror_transaction', subject: t.id, detail: `${t.amountMinor} names ${pi.id} (movement ${t.movementKey ?? 'none'}) but mirrors no ledger movement` });
    }
  }

  const status =
    plan.kind === 'apply'
      ? books.accountOfRecord
        ? 'credited'
        : 'not_credited_yet'
      : plan.kind === 'wait_for_payment'
        ? 'waiting'
        : plan.kind === 'attention'
          ? 'needs_attention'
          : plan.kind;
  return {
    paymentIntentId: pi.id,
    currency: pi.currency,
    stripeNetMinor: stripeNetMinor(truth),
    intendedNetMinor: netMinor(intended),
    ledgerNetMinor: netMinor(books.movements),
    mirrorNetMinor: mirrorKept ? -stripeMirror.reduce((sum, t) => sum + t.amountMinor, 0) : null,
    status,
    drift,
  };
}
