import { describe, expect, it } from 'vitest';
import type { RefundFact, RefundStatus } from '../src/domain/payment-truth.js';
import { holdsFreedByStripe, leftToRefundMinor, refundAllowance } from '../src/domain/refund-allowance.js';
import { truthOf } from './support/payment-truth-builders.js';

const refund = (id: string, status: RefundStatus, amountMinor: number, holdId?: string): RefundFact => ({
  id,
  amountMinor,
  currency: 'usd',
  status,
  ...(holdId ? { holdId } : {}),
});

describe('refundAllowance (the rule table of src/domain/refund-allowance.ts, one row at a time)', () => {
  it('nothing asked, all of it still held: the whole remainder is refunded', () => {
    expect(refundAllowance({ askedMinor: undefined, leftMinor: 5_000, availableMinor: 5_000, currency: 'usd' })).toEqual({
      kind: 'allowed',
      amountMinor: 5_000,
      currency: 'usd',
    });
  });

  it('nothing asked, part of it spent: refused, and told what may still be refunded', () => {
    // The incident of issue 19: 5,000 bought, 4,000 spent; a full refund would leave the account at −4,000.
    expect(refundAllowance({ askedMinor: undefined, leftMinor: 5_000, availableMinor: 1_000, currency: 'usd' })).toEqual({
      kind: 'refused',
      code: 'refund_exceeds_available',
      refundableMinor: 1_000,
      currency: 'usd',
      askedMinor: 5_000,
    });
  });

  it('an amount both left at Stripe and still held: refunded', () => {
    expect(refundAllowance({ askedMinor: 1_000, leftMinor: 5_000, availableMinor: 1_000, currency: 'usd' })).toEqual({
      kind: 'allowed',
      amountMinor: 1_000,
      currency: 'usd',
    });
  });

  it('more than Stripe has left: refund_exceeds_remaining, whatever the account holds', () => {
    expect(refundAllowance({ askedMinor: 3_000, leftMinor: 2_000, availableMinor: 9_000, currency: 'usd' })).toMatchObject({
      kind: 'refused',
      code: 'refund_exceeds_remaining',
      refundableMinor: 2_000,
    });
  });

  it('left at Stripe but already spent: refund_exceeds_available', () => {
    expect(refundAllowance({ askedMinor: 2_000, leftMinor: 5_000, availableMinor: 1_999, currency: 'usd' })).toMatchObject({
      kind: 'refused',
      code: 'refund_exceeds_available',
      refundableMinor: 1_999,
    });
  });

  it('nothing left at Stripe: refund_exceeds_remaining, refundable 0', () => {
    expect(refundAllowance({ askedMinor: undefined, leftMinor: 0, availableMinor: 5_000, currency: 'usd' })).toMatchObject({
      kind: 'refused',
      code: 'refund_exceeds_remaining',
      refundableMinor: 0,
    });
  });

  it('an account in debt (a dashboard refund or a dispute): refundable never goes below 0', () => {
    expect(refundAllowance({ askedMinor: 1, leftMinor: 5_000, availableMinor: -4_000, currency: 'usd' })).toMatchObject({
      kind: 'refused',
      code: 'refund_exceeds_available',
      refundableMinor: 0,
    });
  });
});

describe('leftToRefundMinor (what Stripe has not refunded yet)', () => {
  it('counts refunds whose money left or may still leave, not failed or canceled ones', () => {
    const truth = truthOf({
      pi: { amountReceivedMinor: 5_000 },
      refunds: [refund('re_1', 'succeeded', 1_000), refund('re_2', 'pending', 500), refund('re_3', 'failed', 700), refund('re_4', 'canceled', 300)],
    });
    expect(leftToRefundMinor(truth)).toBe(3_500);
  });

  it('a PaymentIntent that did not succeed has nothing to refund', () => {
    expect(leftToRefundMinor(truthOf({ pi: { status: 'processing' } }))).toBe(0);
  });
});

describe('holdsFreedByStripe (a refund that failed before its debit frees its hold)', () => {
  it('frees the open holds whose refund failed or was canceled, and only those', () => {
    const truth = truthOf({
      refunds: [
        refund('re_1', 'failed', 100, 'hold-failed'),
        refund('re_2', 'canceled', 100, 'hold-canceled'),
        refund('re_3', 'pending', 100, 'hold-pending'),
        refund('re_4', 'failed', 100, 'hold-closed-already'),
        refund('re_5', 'failed', 100),
      ],
    });
    expect(holdsFreedByStripe(truth, ['hold-failed', 'hold-canceled', 'hold-pending', 'hold-unknown-to-stripe'])).toEqual(['hold-failed', 'hold-canceled']);
  });
});
