import { carriesCreditMark } from './credit-mark.js';
import { creditEligibility, type MoneyPolicy } from './credit-policy.js';
import { decidePayment, type CreditedOutcome, type PaymentIntentStatus } from './payment.js';
import { intendedMovements, missingMovements, type Movement, type MovementKind } from './payment-movements.js';
import type { PaymentTruth } from './payment-truth.js';

/**
 * What a payment's books hold now (Postgres), read at every wake before Stripe is asked anything.
 * Workflow-safe (pure types and functions).
 */
export interface BookedMovement {
  key: string;
  kind: MovementKind;
  amountMinor: number;
  currency: string;
  ledgerEntryId: string;
  /** ISO-8601: when the ledger row committed (a mirror transaction can only come after it). */
  createdAt: string;
  /** The Stripe customer balance transaction that mirrors it, once recorded. */
  balanceTransactionId: string | null;
}

export interface PaymentDecisions {
  /** An operator's reject (before the credit): the payment never moves money. */
  rejected: string | null;
  /** An operator's resolve: the account to credit when Stripe's customer maps to none. */
  resolvedAccountId: string | null;
  /** An operator's skip-mirror: the ledger goes on, the Stripe customer balance is left alone. */
  mirrorSkipped: string | null;
}

export interface PaymentBooks {
  paymentIntentId: string;
  /** Fixed by the first credit: every later movement goes to this account and its Stripe customer. */
  accountOfRecord: { accountId: string; stripeCustomerId: string } | null;
  movements: BookedMovement[];
  decisions: PaymentDecisions;
  /** Holds still counting that refunds asked through the API placed on this payment (src/db/balance-holds.ts). */
  openHoldIds?: readonly string[];
}

/** The credit as callers are told it (the same fields as a credited outcome): read off the books, not the ledger again. */
export type CreditFacts = Pick<CreditedOutcome, 'paymentIntentId' | 'accountId' | 'ledgerEntryId' | 'amountMinor' | 'currency' | 'creditedAt'>;

export function creditOf(books: PaymentBooks): CreditFacts | null {
  const credit = books.movements.find((m) => m.kind === 'payment_credit');
  if (!credit || !books.accountOfRecord) return null;
  return {
    paymentIntentId: books.paymentIntentId,
    accountId: books.accountOfRecord.accountId,
    ledgerEntryId: credit.ledgerEntryId,
    amountMinor: credit.amountMinor,
    currency: credit.currency,
    creditedAt: credit.createdAt,
  };
}

export const NO_DECISIONS: PaymentDecisions = { rejected: null, resolvedAccountId: null, mirrorSkipped: null };

export type PaymentPlan =
  | { kind: 'rejected'; reason: string }
  | { kind: 'not_eligible'; why: string }
  | { kind: 'wait_for_payment' }
  | { kind: 'not_payable'; status: PaymentIntentStatus }
  | { kind: 'attention'; reason: 'amount_anomaly'; detail: string }
  /** `movements`: what the ledger lacks, in order (possibly none: the books are converged). */
  | { kind: 'apply'; movements: Movement[] };

/**
 * The one decision function: Stripe's truth + the books + the deployment's policy → what to do now.
 * Before the credit, eligibility and the PaymentIntent's status gate everything; after it, the payment is a
 * credit purchase for good and only follows Stripe's refunds and disputes. An operator's reject binds first.
 */
export function planPayment(truth: PaymentTruth, books: PaymentBooks, policy: MoneyPolicy): PaymentPlan {
  if (books.decisions.rejected !== null) return { kind: 'rejected', reason: books.decisions.rejected };
  const pi = truth.paymentIntent;
  if (books.accountOfRecord === null) {
    const eligibility = creditEligibility(pi.metadata, policy);
    if (!eligibility.eligible) return { kind: 'not_eligible', why: eligibility.why };
    const verdict = decidePayment(pi);
    if (verdict.kind === 'wait_for_payment') return verdict;
    if (verdict.kind === 'not_payable') return verdict;
    if (verdict.kind === 'attention') return { kind: 'attention', reason: 'amount_anomaly', detail: verdict.detail };
  }
  const foreign = [...truth.refunds, ...truth.disputes].find((o) => o.currency !== pi.currency || !Number.isSafeInteger(o.amountMinor) || o.amountMinor <= 0);
  if (foreign) {
    return { kind: 'attention', reason: 'amount_anomaly', detail: `${foreign.id} is ${foreign.amountMinor} ${foreign.currency} on a ${pi.currency} PaymentIntent` };
  }
  const applied = new Set(books.movements.map((m) => m.key));
  return { kind: 'apply', movements: missingMovements(intendedMovements(truth, applied), applied) };
}

/** What Stripe's copy of the books lacks: mirror transactions of ledger movements, and the credit mark. */
export interface StripeSyncPlan {
  mirror: 'on' | 'off' | 'skipped';
  /** Ledger movements without their customer balance transaction (empty unless the mirror is on). */
  toMirror: BookedMovement[];
  /** Write the credit mark on the PaymentIntent (never while the mirror is skipped: the PaymentIntent may refuse metadata). */
  mark: boolean;
}

/** Pure: the books after the ledger step + the PaymentIntent's current metadata → what to write to Stripe. */
export function planStripeSync(books: PaymentBooks, paymentIntentMetadata: Readonly<Record<string, string>>, policy: MoneyPolicy): StripeSyncPlan {
  const credit = books.movements.find((m) => m.kind === 'payment_credit');
  if (books.decisions.mirrorSkipped !== null) return { mirror: 'skipped', toMirror: [], mark: false };
  const mirror = policy.balanceMirror;
  const toMirror = mirror === 'on' ? books.movements.filter((m) => m.balanceTransactionId === null) : [];
  const creditMirrorPending = toMirror.some((m) => m.kind === 'payment_credit');
  const mark =
    credit !== undefined &&
    (creditMirrorPending || !carriesCreditMark(paymentIntentMetadata, { ledgerEntryId: credit.ledgerEntryId, balanceTransactionId: credit.balanceTransactionId }));
  return { mirror, toMirror, mark };
}
