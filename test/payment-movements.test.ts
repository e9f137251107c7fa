import { describe, expect, it } from 'vitest';
import { intendedMovements, missingMovements, netMinor, type Movement } from '../src/domain/payment-movements.js';
import {
  stripeNetMinor,
  type DisputeFact,
  type DisputeStatus,
  type PaymentTruth,
  type RefundFact,
  type RefundStatus,
} from '../src/domain/payment-truth.js';
import { truthOf } from './support/payment-truth-builders.js';

const refund = (id: string, status: RefundStatus, amountMinor = 300): RefundFact => ({ id, amountMinor, currency: 'usd', status });

const dispute = (id: string, status: DisputeStatus, funds: { withdrawn: boolean; reinstated: boolean }, amountMinor = 1_000): DisputeFact => ({
  id,
  amountMinor,
  currency: 'usd',
  status,
  fundsWithdrawn: funds.withdrawn,
  fundsReinstated: funds.reinstated,
});

const NOTHING_APPLIED: ReadonlySet<string> = new Set();

const credit = (amountMinor = 2_500): Movement => ({
  key: 'stripe:payment_intent:pi_1',
  kind: 'payment_credit',
  paymentIntentId: 'pi_1',
  amountMinor,
  currency: 'usd',
  stripeObjectId: 'pi_1',
});

describe('intendedMovements (the rule table, one row at a time)', () => {
  it('a succeeded PaymentIntent: one credit of amount_received (not amount), positive in the ledger', () => {
    const truth = truthOf({ pi: { amountMinor: 2_500, amountReceivedMinor: 1_800 } });
    expect(intendedMovements(truth, NOTHING_APPLIED)).toEqual([credit(1_800)]);
  });

  it.each(['processing', 'requires_payment_method', 'requires_confirmation', 'requires_action', 'requires_capture', 'canceled'] as const)(
    'a PaymentIntent %s: no movements at all, refunds and disputes notwithstanding',
    (status) => {
      const truth = truthOf({
        pi: { status, amountReceivedMinor: 0 },
        refunds: [refund('re_1', 'succeeded')],
        disputes: [dispute('dp_1', 'lost', { withdrawn: true, reinstated: false })],
      });
      expect(intendedMovements(truth, new Set(['stripe:refund:re_1']))).toEqual([]);
    },
  );

  it.each(['pending', 'requires_action', 'succeeded'] as const)('a refund %s: the credit, then a refund debit (negative)', (status) => {
    const truth = truthOf({ refunds: [refund('re_1', status)] });
    expect(intendedMovements(truth, NOTHING_APPLIED)).toEqual([
      credit(),
      { key: 'stripe:refund:re_1', kind: 'refund_debit', paymentIntentId: 'pi_1', amountMinor: -300, currency: 'usd', stripeObjectId: 're_1' },
    ]);
  });

  it.each(['failed', 'canceled'] as const)('a refund %s whose debit was applied: the debit kept, plus its reversal (net 0)', (status) => {
    const truth = truthOf({ refunds: [refund('re_1', status)] });
    const intended = intendedMovements(truth, new Set(['stripe:payment_intent:pi_1', 'stripe:refund:re_1']));
    expect(intended).toEqual([
      credit(),
      { key: 'stripe:refund:re_1', kind: 'refund_debit', paymentIntentId: 'pi_1', amountMinor: -300, currency: 'usd', stripeObjectId: 're_1' },
      { key: 'stripe:refund:re_1:reversal', kind: 'refund_reversal', paymentIntentId: 'pi_1', amountMinor: 300, currency: 'usd', stripeObjectId: 're_1' },
    ]);
    expect(netMinor(intended)).toBe(2_500);
  });

  it.each(['failed', 'canceled'] as const)('a refund %s that was never debited: nothing for it (no debit, no reversal)', (status) => {
    const truth = truthOf({ refunds: [refund('re_1', status)] });
    expect(intendedMovements(truth, new Set(['stripe:payment_intent:pi_1']))).toEqual([credit()]);
  });

  it.each(['needs_response', 'under_review', 'lost'] as const)('a dispute %s with its funds withdrawn: a dispute debit (negative)', (status) => {
    const truth = truthOf({ disputes: [dispute('dp_1', status, { withdrawn: true, reinstated: false })] });
    expect(intendedMovements(truth, NOTHING_APPLIED)).toEqual([
      credit(),
      { key: 'stripe:dispute:dp_1', kind: 'dispute_debit', paymentIntentId: 'pi_1', amountMinor: -1_000, currency: 'usd', stripeObjectId: 'dp_1' },
    ]);
  });

  it('a dispute won, funds withdrawn then reinstated: the dispute debit plus its reversal (net 0)', () => {
    const truth = truthOf({ disputes: [dispute('dp_1', 'won', { withdrawn: true, reinstated: true })] });
    const intended = intendedMovements(truth, NOTHING_APPLIED);
    expect(intended).toEqual([
      credit(),
      { key: 'stripe:dispute:dp_1', kind: 'dispute_debit', paymentIntentId: 'pi_1', amountMinor: -1_000, currency: 'usd', stripeObjectId: 'dp_1' },
      { key: 'stripe:dispute:dp_1:reversal', kind: 'dispute_reversal', paymentIntentId: 'pi_1', amountMinor: 1_000, currency: 'usd', stripeObjectId: 'dp_1' },
    ]);
    expect(netMinor(intended)).toBe(2_500);
  });

  it.each(['warning_needs_response', 'warning_under_review', 'warning_closed'] as const)(
    'a dispute inquiry %s with no withdrawal: nothing for it',
    (status) => {
      const truth = truthOf({ disputes: [dispute('dp_1', status, { withdrawn: false, reinstated: false })] });
      expect(intendedMovements(truth, NOTHING_APPLIED)).toEqual([credit()]);
    },
  );

  it('an applied dispute debit Stripe shows again is kept, and nothing is missing', () => {
    const truth = truthOf({ disputes: [dispute('dp_1', 'lost', { withdrawn: true, reinstated: false })] });
    const applied = new Set(['stripe:payment_intent:pi_1', 'stripe:dispute:dp_1']);
    const intended = intendedMovements(truth, applied);
    expect(intended.map((m) => m.key)).toEqual(['stripe:payment_intent:pi_1', 'stripe:dispute:dp_1']);
    expect(missingMovements(intended, applied)).toEqual([]);
  });

  it('an applied dispute debit is kept even when Stripe no longer shows the withdrawal (the ledger is append-only)', () => {
    const truth = truthOf({ disputes: [dispute('dp_1', 'under_review', { withdrawn: false, reinstated: false })] });
    const intended = intendedMovements(truth, new Set(['stripe:payment_intent:pi_1', 'stripe:dispute:dp_1']));
    expect(intended).toEqual([
      credit(),
      { key: 'stripe:dispute:dp_1', kind: 'dispute_debit', paymentIntentId: 'pi_1', amountMinor: -1_000, currency: 'usd', stripeObjectId: 'dp_1' },
    ]);
  });

  it('orders the credit first, then refunds by id, then disputes by id, whatever order Stripe lists them in', () => {
    const truth = truthOf({
      refunds: [refund('re_b', 'succeeded', 200), refund('re_a', 'pending', 100)],
      disputes: [dispute('dp_b', 'lost', { withdrawn: true, reinstated: false }, 400), dispute('dp_a', 'needs_response', { withdrawn: true, reinstated: false }, 300)],
    });
    const intended = intendedMovements(truth, NOTHING_APPLIED);
    expect(intended.map((m) => [m.key, m.amountMinor])).toEqual([
      ['stripe:payment_intent:pi_1', 2_500],
      ['stripe:refund:re_a', -100],
      ['stripe:refund:re_b', -200],
      ['stripe:dispute:dp_a', -300],
      ['stripe:dispute:dp_b', -400],
    ]);
    expect(netMinor(intended)).toBe(1_500);
  });
});

describe('missingMovements', () => {
  it('keeps the intended order and drops only what the books hold', () => {
    const truth = truthOf({ refunds: [refund('re_1', 'failed'), refund('re_2', 'succeeded')] });
    const applied = new Set(['stripe:payment_intent:pi_1', 'stripe:refund:re_1']);
    expect(missingMovements(intendedMovements(truth, applied), applied).map((m) => m.key)).toEqual([
      'stripe:refund:re_1:reversal',
      'stripe:refund:re_2',
    ]);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Property-style: every combination of up to two refunds (each status × debit applied before or not) and at
// most one dispute (each status, its funds consistent with the status), enumerated exhaustively.

const REFUND_STATUSES: readonly RefundStatus[] = ['pending', 'requires_action', 'succeeded', 'failed', 'canceled'];

/** Funds consistent with the status: withdrawn for a real dispute, reinstated only when won, none for an inquiry. */
const DISPUTE_FUNDS: Record<DisputeStatus, { withdrawn: boolean; reinstated: boolean }> = {
  warning_needs_response: { withdrawn: false, reinstated: false },
  warning_under_review: { withdrawn: false, reinstated: false },
  warning_closed: { withdrawn: false, reinstated: false },
  needs_response: { withdrawn: true, reinstated: false },
  under_review: { withdrawn: true, reinstated: false },
  won: { withdrawn: true, reinstated: true },
  lost: { withdrawn: true, reinstated: false },
};

interface RefundCase {
  fact: RefundFact;
  debitApplied: boolean;
}
interface DisputeCase {
  fact: DisputeFact;
  debitApplied: boolean;
}
interface Combination {
  label: string;
  truth: PaymentTruth;
  applied: ReadonlySet<string>;
}

const refundCases = (id: string, amountMinor: number): RefundCase[] =>
  REFUND_STATUSES.flatMap((status) => [false, true].map((debitApplied) => ({ fact: refund(id, status, amountMinor), debitApplied })));

const refundSets: RefundCase[][] = [
  [],
  ...refundCases('re_1', 300).map((a) => [a]),
  ...refundCases('re_1', 300).flatMap((a) => refundCases('re_2', 700).map((b) => [a, b])),
];

const disputeSets: DisputeCase[][] = [
  [],
  ...(Object.keys(DISPUTE_FUNDS) as DisputeStatus[]).flatMap((status) => {
    const funds = DISPUTE_FUNDS[status];
    const fact = dispute('dp_1', status, funds, 1_000);
    // A debit can only have been applied for funds Stripe withdrew.
    return (funds.withdrawn ? [false, true] : [false]).map((debitApplied) => [{ fact, debitApplied }]);
  }),
];

const combinations: Combination[] = refundSets.flatMap((refunds) =>
  disputeSets.map((disputes) => {
    const applied = new Set<string>(['stripe:payment_intent:pi_1']);
    for (const r of refunds) if (r.debitApplied) applied.add(`stripe:refund:${r.fact.id}`);
    for (const d of disputes) if (d.debitApplied) applied.add(`stripe:dispute:${d.fact.id}`);
    const label = [
      ...refunds.map((r) => `${r.fact.id}=${r.fact.status}${r.debitApplied ? '+debit_applied' : ''}`),
      ...disputes.map((d) => `${d.fact.id}=${d.fact.status}${d.debitApplied ? '+debit_applied' : ''}`),
    ].join(' ');
    return {
      label: label || 'no refund, no dispute',
      truth: truthOf({ refunds: refunds.map((r) => r.fact), disputes: disputes.map((d) => d.fact) }),
      applied,
    };
  }),
);

describe('intendedMovements over every combination of refunds and disputes', () => {
  it('enumerates them all: (1 + 10 + 100 refund sets) × (1 + 3 inquiries + 4 × 2 withdrawn disputes)', () => {
    expect(combinations.length).toBe(111 * 12);
  });

  it("(a) the ledger's net equals Stripe's net in every combination", () => {
    const violations = combinations
      .map(({ label, truth, applied }) => ({ label, ledger: netMinor(intendedMovements(truth, applied)), stripe: stripeNetMinor(truth) }))
      .filter((c) => c.ledger !== c.stripe)
      .map((c) => `${c.label}: ledger ${c.ledger} ≠ stripe ${c.stripe}`);
    expect(violations).toEqual([]);
  });

  it('(b) applying the missing movements converges: planning again finds nothing missing', () => {
    const violations = combinations
      .map(({ label, truth, applied }) => {
        const missing = missingMovements(intendedMovements(truth, applied), applied);
        const appliedAfter = new Set([...applied, ...missing.map((m) => m.key)]);
        return { label, stillMissing: missingMovements(intendedMovements(truth, appliedAfter), appliedAfter).map((m) => m.key) };
      })
      .filter((c) => c.stillMissing.length > 0)
      .map((c) => `${c.label}: still missing ${c.stillMissing.join(', ')}`);
    expect(violations).toEqual([]);
  });

  it('(c) every intended key is unique, and the credit comes first', () => {
    const violations = combinations
      .map(({ label, truth, applied }) => ({ label, keys: intendedMovements(truth, applied).map((m) => m.key) }))
      .filter((c) => new Set(c.keys).size !== c.keys.length || c.keys[0] !== 'stripe:payment_intent:pi_1')
      .map((c) => `${c.label}: ${c.keys.join(', ')}`);
    expect(violations).toEqual([]);
  });
});
