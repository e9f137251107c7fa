import { describe, expect, it } from 'vitest';
import {
  INFORM_TYPES,
  PAYMENT_START_TYPES,
  MONEY_MOVED_TYPES,
  routeStripeEvent,
  summariseStripeEvent,
  type StripeEventSummary,
} from '../src/domain/stripe-events.js';
import { buildCharge, buildEvent, buildPaymentIntent, buildRefund } from './support/fake-stripe/stripe-objects.js';

const API_VERSION = '2025-01-27.acacia';
const pi = { ...buildPaymentIntent({ amount: 1_000, currency: 'usd', customer: 'cus_A1' }), status: 'succeeded' as const };
const charge = buildCharge(pi);
const session = (paymentIntent: unknown, paymentStatus: string) => ({
  id: 'cs_test_a1B2',
  object: 'checkout.session',
  mode: 'payment',
  payment_intent: paymentIntent,
  payment_status: paymentStatus,
  status: 'complete',
});

const summaryOf = (type: string, object: object): StripeEventSummary => {
  const shape = summariseStripeEvent(buildEvent(type, object, API_VERSION));
  if (!shape.ok) throw new Error(shape.problem);
  return shape.summary;
};
const problemOf = (body: unknown): string => {
  const shape = summariseStripeEvent(body);
  if (shape.ok) throw new Error('expected a problem');
  return shape.problem;
};

describe('summariseStripeEvent: the shape a webhook must have', () => {
  it('keeps the facts of a payment_intent.succeeded event as Stripe sends it', () => {
    const event = buildEvent('payment_intent.succeeded', pi, API_VERSION);
    expect(summariseStripeEvent(JSON.parse(JSON.stringify(event)))).toEqual({
      ok: true,
      summary: {
        id: event.id,
        type: 'payment_intent.succeeded',
        created: event.created,
        livemode: false,
        apiVersion: API_VERSION,
        objectId: pi.id,
        objectType: 'payment_intent',
        paymentIntentId: pi.id,
        paymentStatus: null,
      },
    });
  });

  it('finds the PaymentIntent of checkout sessions, charges and refunds (also when expanded), and none when absent', () => {
    expect(summaryOf('checkout.session.completed', session(pi.id, 'paid'))).toMatchObject({ paymentIntentId: pi.id, paymentStatus: 'paid', objectType: 'checkout.session' });
    expect(summaryOf('checkout.session.completed', session(null, 'no_payment_required')).paymentIntentId).toBeNull();
    expect(summaryOf('charge.refunded', charge).paymentIntentId).toBe(pi.id);
    expect(summaryOf('charge.refunded', { ...charge, payment_intent: { id: pi.id, object: 'payment_intent' } }).paymentIntentId).toBe(pi.id);
    expect(summaryOf('refund.created', buildRefund(charge, 300)).paymentIntentId).toBe(pi.id);
    expect(summaryOf('charge.refunded', { ...charge, payment_intent: null }).paymentIntentId).toBeNull();
    expect(summaryOf('customer.created', { id: 'cus_A1', object: 'customer' })).toMatchObject({ paymentIntentId: null, paymentStatus: null });
  });

  it('refuses bodies that are not Stripe events, saying what is wrong', () => {
    const good = JSON.parse(JSON.stringify(buildEvent('payment_intent.succeeded', pi, API_VERSION)));
    const without = (key: string) => Object.fromEntries(Object.entries(good).filter(([k]) => k !== key));
    expect(problemOf([good])).toMatch(/JSON object/);
    expect(problemOf(null)).toMatch(/JSON object/);
    expect(problemOf(without('id'))).toMatch(/^id /);
    expect(problemOf({ ...good, id: 'ch_123' })).toMatch(/^id /);
    expect(problemOf({ ...good, id: "evt_1'; DROP TABLE x" })).toMatch(/^id /);
    expect(problemOf(without('type'))).toMatch(/^type /);
    expect(problemOf({ ...good, type: 'Payment Intent Succeeded' })).toMatch(/^type /);
    expect(problemOf(without('created'))).toMatch(/^created /);
    expect(problemOf({ ...good, created: '1700000000' })).toMatch(/^created /);
    expect(problemOf(without('livemode'))).toMatch(/^livemode /);
    expect(problemOf({ ...good, api_version: 20 })).toMatch(/^api_version /);
    expect(problemOf(without('data'))).toMatch(/^data\.object /);
    expect(problemOf({ ...good, data: { object: 'pi_1' } })).toMatch(/^data\.object /);
    expect(problemOf({ ...good, data: { object: { object: 'payment_intent' } } })).toMatch(/^data\.object\.id /);
    expect(problemOf({ ...good, data: { object: { ...pi, id: 'ch_123' } } })).toMatch(/PaymentIntent \(pi_…\)/);
    expect(problemOf(buildEvent('charge.refunded', { ...charge, payment_intent: 'ch_1' }, API_VERSION))).toMatch(/payment_intent/);
    expect(problemOf(buildEvent('checkout.session.completed', session(42, 'paid'), API_VERSION))).toMatch(/payment_intent/);
  });
});

describe('routeStripeEvent: what the event workflow does with each type', () => {
  it('payments: payment_intent.succeeded and paid checkout sessions start (or join) the payment workflow', () => {
    const start = { action: 'payment', paymentIntentId: pi.id, startIfMissing: true };
    expect(routeStripeEvent(summaryOf('payment_intent.succeeded', pi))).toEqual(start);
    expect(routeStripeEvent(summaryOf('checkout.session.completed', session(pi.id, 'paid')))).toEqual(start);
    expect(routeStripeEvent(summaryOf('checkout.session.async_payment_succeeded', session(pi.id, 'paid')))).toEqual(start);
  });

  it('an unpaid or payment-less checkout session is recorded as ignored (the async event follows)', () => {
    expect(routeStripeEvent(summaryOf('checkout.session.completed', session(pi.id, 'unpaid')))).toEqual({
      action: 'ignore',
      why: 'checkout session completed with payment_status unpaid',
    });
    expect(routeStripeEvent(summaryOf('checkout.session.completed', session(null, 'no_payment_required')))).toEqual({
      action: 'ignore',
      why: 'checkout.session.completed names no PaymentIntent',
    });
  });

  it('processing, failed and canceled only inform a payment workflow that waits', () => {
    for (const type of ['payment_intent.processing', 'payment_intent.payment_failed', 'payment_intent.canceled']) {
      expect(routeStripeEvent(summaryOf(type, { ...pi, status: 'processing' }))).toEqual({ action: 'inform', paymentIntentId: pi.id });
    }
    expect(routeStripeEvent(summaryOf('checkout.session.async_payment_failed', session(pi.id, 'unpaid')))).toEqual({ action: 'inform', paymentIntentId: pi.id });
  });

  it('refunds go to the payment workflow, which debits each refund after the credit', () => {
    expect(routeStripeEvent(summaryOf('charge.refunded', charge))).toEqual({ action: 'payment', paymentIntentId: pi.id, startIfMissing: true });
    expect(routeStripeEvent(summaryOf('refund.created', buildRefund(charge, 1)))).toEqual({ action: 'payment', paymentIntentId: pi.id, startIfMissing: true });
    expect(routeStripeEvent(summaryOf('charge.refunded', { ...charge, payment_intent: null }))).toEqual({ action: 'ignore', why: 'charge.refunded names no PaymentIntent' });
  });

  it('any other type is ignored, with the reason', () => {
    expect(routeStripeEvent(summaryOf('customer.created', { id: 'cus_A1', object: 'customer' }))).toEqual({
      action: 'ignore',
      why: 'event type customer.created is not handled',
    });
    expect(routeStripeEvent(summaryOf('payment_intent.created', pi))).toMatchObject({ action: 'ignore' });
  });

  it('each handled type belongs to exactly one route family', () => {
    const all = [...PAYMENT_START_TYPES, ...MONEY_MOVED_TYPES, ...INFORM_TYPES];
    expect(new Set(all).size).toBe(all.length);
  });
});
