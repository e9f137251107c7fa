import { describe, expect, it } from 'vitest';
import { decidePayment, type PaymentIntentSnapshot } from '../src/domain/payment.js';

const succeeded = (over: Partial<PaymentIntentSnapshot> = {}): PaymentIntentSnapshot => ({
  id: 'pi_decision',
  status: 'succeeded',
  amountMinor: 2_500,
  amountReceivedMinor: 2_500,
  currency: 'usd',
  customerId: 'cus_decision',
  metadata: {},
  ...over,
});

describe('decidePayment (what a fresh PaymentIntent snapshot allows)', () => {
  it('proceeds for a succeeded PaymentIntent with a sound amount, partial captures included', () => {
    expect(decidePayment(succeeded())).toEqual({ kind: 'proceed' });
    expect(decidePayment(succeeded({ amountReceivedMinor: 1_000 }))).toEqual({ kind: 'proceed' });
    expect(decidePayment(succeeded({ currency: 'jpy', amountMinor: 1, amountReceivedMinor: 1 }))).toEqual({ kind: 'proceed' });
  });

  it('proceeds without a customer: finding the account is a later step', () => {
    expect(decidePayment(succeeded({ customerId: null }))).toEqual({ kind: 'proceed' });
  });

  it('waits while processing', () => {
    expect(decidePayment(succeeded({ status: 'processing', amountReceivedMinor: 0 }))).toEqual({ kind: 'wait_for_payment' });
  });

  it.each(['requires_payment_method', 'requires_confirmation', 'requires_action', 'requires_capture', 'canceled'] as const)(
    'is not payable when %s',
    (status) => {
      expect(decidePayment(succeeded({ status, amountReceivedMinor: 0 }))).toEqual({ kind: 'not_payable', status });
    },
  );

  it.each([
    ['nothing received', { amountReceivedMinor: 0 }, 'amount_received is 0'],
    ['a negative amount', { amountReceivedMinor: -5 }, 'amount_received is -5'],
    ['a fractional amount', { amountReceivedMinor: 12.5 }, 'amount_received is 12.5'],
    ['an unsafe integer', { amountReceivedMinor: 2 ** 53, amountMinor: 2 ** 53 }, `amount_received is ${2 ** 53}`],
    ['more received than asked', { amountReceivedMinor: 3_000 }, 'amount_received 3000 exceeds amount 2500'],
    ['an upper-case currency', { currency: 'USD' }, 'currency "USD" is not an ISO code'],
    ['a malformed currency', { currency: 'us$' }, 'currency "us$" is not an ISO code'],
    ['no currency', { currency: '' }, 'currency "" is not an ISO code'],
  ] as const)('needs attention (amount_anomaly) for %s', (_, over, detail) => {
    expect(decidePayment(succeeded(over))).toEqual({ kind: 'attention', reason: 'amount_anomaly', detail });
  });

  it('checks the status before the amount: an unpaid intent is not_payable, not an anomaly', () => {
    expect(decidePayment(succeeded({ status: 'canceled', amountReceivedMinor: -1, currency: 'x' }))).toEqual({ kind: 'not_payable', status: 'canceled' });
  });
});
