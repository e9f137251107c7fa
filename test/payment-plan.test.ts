import { describe, expect, it } from 'vitest';
import type { MoneyPolicy } from '../src/domain/credit-policy.js';
import { NO_DECISIONS, planPayment, planStripeSync, type BookedMovement, type PaymentBooks } from '../src/domain/payment-plan.js';
import type { RefundFact } from '../src/domain/payment-truth.js';
import { truthOf } from './support/payment-truth-builders.js';

const TAGGED_MIRROR_ON: MoneyPolicy = { creditPaymentIntents: 'tagged', balanceMirror: 'on' };
const TAGGED_MIRROR_OFF: MoneyPolicy = { creditPaymentIntents: 'tagged', balanceMirror: 'off' };
const ALL_MIRROR_ON: MoneyPolicy = { creditPaymentIntents: 'all', balanceMirror: 'on' };

const refund = (id: string, status: RefundFact['status'], over: Partial<RefundFact> = {}): RefundFact => ({
  id,
  amountMinor: 300,
  currency: 'usd',
  status,
  ...over,
});

const booked = (key: string, kind: BookedMovement['kind'], amountMinor: number, over: Partial<BookedMovement> = {}): BookedMovement => ({
  key,
  kind,
  amountMinor,
  currency: 'usd',
  ledgerEntryId: `le_${kind}`,
  createdAt: '2024-05-01T12:00:00.000Z',
  balanceTransactionId: null,
  ...over,
});

const bookedCredit = (over: Partial<BookedMovement> = {}) =>
  booked('stripe:payment_intent:pi_1', 'payment_credit', 2_500, { ledgerEntryId: 'le_credit', ...over });

/** Books before the credit: nothing held, no account of record. */
const emptyBooks = (over: Partial<PaymentBooks> = {}): PaymentBooks => ({
  paymentIntentId: 'pi_1',
  accountOfRecord: null,
  movements: [],
  decisions: NO_DECISIONS,
  ...over,
});

/** Books after the credit: the account of record is fixed. */
const creditedBooks = (movements: BookedMovement[], over: Partial<PaymentBooks> = {}): PaymentBooks =>
  emptyBooks({ accountOfRecord: { accountId: 'acct_1', stripeCustomerId: 'cus_1' }, movements, ...over });

const CREDIT_MOVEMENT = {
  key: 'stripe:payment_intent:pi_1',
  kind: 'payment_credit',
  paymentIntentId: 'pi_1',
  amountMinor: 2_500,
  currency: 'usd',
  stripeObjectId: 'pi_1',
} as const;

describe('planPayment (Stripe truth + books + policy → what to do now)', () => {
  it("an operator's reject binds first, even for a succeeded, eligible payment", () => {
    const books = emptyBooks({ decisions: { ...NO_DECISIONS, rejected: 'fraud suspected' } });
    expect(planPayment(truthOf(), books, TAGGED_MIRROR_ON)).toEqual({ kind: 'rejected', reason: 'fraud suspected' });
  });

  it('a reject binds before eligibility and status too', () => {
    const books = emptyBooks({ decisions: { ...NO_DECISIONS, rejected: 'duplicate order' } });
    const truth = truthOf({ pi: { status: 'processing', amountReceivedMinor: 0, metadata: {} } });
    expect(planPayment(truth, books, TAGGED_MIRROR_ON)).toEqual({ kind: 'rejected', reason: 'duplicate order' });
  });

  it('an untagged PaymentIntent under CREDIT_PAYMENT_INTENTS=tagged is not eligible, and the reason names payconfirm=credit', () => {
    const plan = planPayment(truthOf({ pi: { metadata: { order: '42' } } }), emptyBooks(), TAGGED_MIRROR_ON);
    expect(plan).toEqual({
      kind: 'not_eligible',
      why: "the PaymentIntent's metadata lacks payconfirm=credit (CREDIT_PAYMENT_INTENTS=tagged)",
    });
    expect(plan.kind === 'not_eligible' && plan.why).toContain('payconfirm=credit');
  });

  it('a PaymentIntent tagged with another value is not eligible either', () => {
    expect(planPayment(truthOf({ pi: { metadata: { payconfirm: 'donation' } } }), emptyBooks(), TAGGED_MIRROR_ON).kind).toBe('not_eligible');
  });

  it('the same untagged PaymentIntent under CREDIT_PAYMENT_INTENTS=all is credited', () => {
    expect(planPayment(truthOf({ pi: { metadata: {} } }), emptyBooks(), ALL_MIRROR_ON)).toEqual({ kind: 'apply', movements: [CREDIT_MOVEMENT] });
  });

  it('eligibility is not asked again once the books hold the credit, even if the tag is gone', () => {
    const truth = truthOf({ pi: { metadata: {} }, refunds: [refund('re_1', 'succeeded')] });
    expect(planPayment(truth, creditedBooks([bookedCredit()]), TAGGED_MIRROR_ON)).toEqual({
      kind: 'apply',
      movements: [
        { key: 'stripe:refund:re_1', kind: 'refund_debit', paymentIntentId: 'pi_1', amountMinor: -300, currency: 'usd', stripeObjectId: 're_1' },
      ],
    });
  });

  it('waits while the PaymentIntent is processing', () => {
    expect(planPayment(truthOf({ pi: { status: 'processing', amountReceivedMinor: 0 } }), emptyBooks(), TAGGED_MIRROR_ON)).toEqual({
      kind: 'wait_for_payment',
    });
  });

  it('a canceled PaymentIntent is not payable', () => {
    expect(planPayment(truthOf({ pi: { status: 'canceled', amountReceivedMinor: 0 } }), emptyBooks(), TAGGED_MIRROR_ON)).toEqual({
      kind: 'not_payable',
      status: 'canceled',
    });
  });

  it('an amount anomaly before the credit needs attention', () => {
    expect(planPayment(truthOf({ pi: { amountReceivedMinor: 3_000 } }), emptyBooks(), TAGGED_MIRROR_ON)).toEqual({
      kind: 'attention',
      reason: 'amount_anomaly',
      detail: 'amount_received 3000 exceeds amount 2500',
    });
  });

  it('a refund in another currency than the PaymentIntent needs attention (amount_anomaly), and nothing is applied', () => {
    const truth = truthOf({ refunds: [refund('re_1', 'succeeded', { currency: 'eur' })] });
    expect(planPayment(truth, creditedBooks([bookedCredit()]), TAGGED_MIRROR_ON)).toEqual({
      kind: 'attention',
      reason: 'amount_anomaly',
      detail: 're_1 is 300 eur on a usd PaymentIntent',
    });
  });

  it('a fresh eligible succeeded payment: apply the credit', () => {
    expect(planPayment(truthOf(), emptyBooks(), TAGGED_MIRROR_ON)).toEqual({ kind: 'apply', movements: [CREDIT_MOVEMENT] });
  });

  it('apply lists only the movements the books lack, in order', () => {
    const truth = truthOf({
      refunds: [refund('re_1', 'succeeded'), refund('re_2', 'pending', { amountMinor: 200 })],
      disputes: [{ id: 'dp_1', amountMinor: 1_000, currency: 'usd', status: 'lost', fundsWithdrawn: true, fundsReinstated: false }],
    });
    const books = creditedBooks([bookedCredit(), booked('stripe:refund:re_1', 'refund_debit', -300)]);
    expect(planPayment(truth, books, TAGGED_MIRROR_ON)).toEqual({
      kind: 'apply',
      movements: [
        { key: 'stripe:refund:re_2', kind: 'refund_debit', paymentIntentId: 'pi_1', amountMinor: -200, currency: 'usd', stripeObjectId: 're_2' },
        { key: 'stripe:dispute:dp_1', kind: 'dispute_debit', paymentIntentId: 'pi_1', amountMinor: -1_000, currency: 'usd', stripeObjectId: 'dp_1' },
      ],
    });
  });

  it('converged books: apply with no movements', () => {
    const truth = truthOf({ refunds: [refund('re_1', 'succeeded')] });
    const books = creditedBooks([bookedCredit(), booked('stripe:refund:re_1', 'refund_debit', -300)]);
    expect(planPayment(truth, books, TAGGED_MIRROR_ON)).toEqual({ kind: 'apply', movements: [] });
  });
});

/** The mark payconfirm writes: its own `payconfirm_…` keys (Stripe drops a key set to ''). */
const markOf = (ledgerEntryId: string, balanceTransactionId: string | null): Record<string, string> => ({
  payconfirm_credited: 'true',
  payconfirm_ledger_entry_id: ledgerEntryId,
  ...(balanceTransactionId === null ? {} : { payconfirm_balance_transaction_id: balanceTransactionId }),
});

describe('planStripeSync (what Stripe still lacks: mirror transactions and the credit mark)', () => {
  it('mirror off: nothing to mirror, but the mark is still written when the PaymentIntent lacks it', () => {
    const books = creditedBooks([bookedCredit(), booked('stripe:refund:re_1', 'refund_debit', -300)]);
    expect(planStripeSync(books, {}, TAGGED_MIRROR_OFF)).toEqual({ mirror: 'off', toMirror: [], mark: true });
  });

  it('mirror off: no mark once the PaymentIntent carries it (no balance transaction: that key is absent)', () => {
    const books = creditedBooks([bookedCredit()]);
    expect(planStripeSync(books, markOf('le_credit', null), TAGGED_MIRROR_OFF)).toEqual({ mirror: 'off', toMirror: [], mark: false });
  });

  it('skip-mirror decided: nothing at all, no mirror and no mark, whatever is unmirrored', () => {
    const books = creditedBooks([bookedCredit(), booked('stripe:refund:re_1', 'refund_debit', -300)], {
      decisions: { ...NO_DECISIONS, mirrorSkipped: 'customer deleted' },
    });
    expect(planStripeSync(books, {}, TAGGED_MIRROR_ON)).toEqual({ mirror: 'skipped', toMirror: [], mark: false });
  });

  it('mirror on, credit unmirrored: mirror it, and mark even though an older mark is there (the mark follows the mirror)', () => {
    const credit = bookedCredit();
    const books = creditedBooks([credit]);
    expect(planStripeSync(books, markOf('le_credit', null), TAGGED_MIRROR_ON)).toEqual({ mirror: 'on', toMirror: [credit], mark: true });
  });

  it('mirror on: only the unmirrored movements, in book order; no mark when the exact mark is there', () => {
    const credit = bookedCredit({ balanceTransactionId: 'cbtxn_credit' });
    const debit = booked('stripe:refund:re_1', 'refund_debit', -300);
    const reversal = booked('stripe:refund:re_1:reversal', 'refund_reversal', 300);
    const dispute = booked('stripe:dispute:dp_1', 'dispute_debit', -1_000, { balanceTransactionId: 'cbtxn_dp' });
    const books = creditedBooks([credit, debit, reversal, dispute]);
    expect(planStripeSync(books, markOf('le_credit', 'cbtxn_credit'), TAGGED_MIRROR_ON)).toEqual({
      mirror: 'on',
      toMirror: [debit, reversal],
      mark: false,
    });
  });

  it.each([
    ['no metadata at all', {}],
    ['a mark naming another balance transaction', markOf('le_credit', 'cbtxn_other')],
    ['a mark without the balance transaction', markOf('le_credit', null)],
    ['a mark naming another ledger entry', markOf('le_other', 'cbtxn_credit')],
    ['a mark not saying credited', { ...markOf('le_credit', 'cbtxn_credit'), payconfirm_credited: 'false' }],
  ])('mirror on, all mirrored: the mark is written when the metadata has %s', (_, metadata) => {
    const books = creditedBooks([bookedCredit({ balanceTransactionId: 'cbtxn_credit' })]);
    expect(planStripeSync(books, metadata, TAGGED_MIRROR_ON)).toEqual({ mirror: 'on', toMirror: [], mark: true });
  });

  it('nothing to do when everything is mirrored and the exact mark is there (other metadata ignored)', () => {
    const books = creditedBooks([
      bookedCredit({ balanceTransactionId: 'cbtxn_credit' }),
      booked('stripe:refund:re_1', 'refund_debit', -300, { balanceTransactionId: 'cbtxn_re' }),
    ]);
    const metadata = { payconfirm: 'credit', order: '42', ...markOf('le_credit', 'cbtxn_credit') };
    expect(planStripeSync(books, metadata, TAGGED_MIRROR_ON)).toEqual({ mirror: 'on', toMirror: [], mark: false });
  });

  it("foreign metadata (credited: 'true', balance_transaction_id, ledger_entry_id) is not taken as the mark", () => {
    const books = creditedBooks([bookedCredit({ balanceTransactionId: 'cbtxn_credit' })]);
    const foreign = { credited: 'true', balance_transaction_id: 'cbtxn_credit', ledger_entry_id: 'le_credit' };
    expect(planStripeSync(books, foreign, TAGGED_MIRROR_ON)).toEqual({ mirror: 'on', toMirror: [], mark: true });
    expect(planStripeSync(books, foreign, TAGGED_MIRROR_OFF)).toEqual({ mirror: 'off', toMirror: [], mark: true });
  });

  it('no credit in the books: no mark, whatever the metadata', () => {
    expect(planStripeSync(emptyBooks(), {}, TAGGED_MIRROR_ON)).toEqual({ mirror: 'on', toMirror: [], mark: false });
    expect(planStripeSync(emptyBooks(), {}, TAGGED_MIRROR_OFF)).toEqual({ mirror: 'off', toMirror: [], mark: false });
  });
});
