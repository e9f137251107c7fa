import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { PaymentState, RejectInput, ResolveInput, SkipMirrorInput } from '../src/domain/payment.js';

/** A Stripe event about this PaymentIntent arrived (the workflow re-reads Stripe; the event is only a nudge). */
export interface PaymentEventNotice {
  eventId: string;
  eventType: string;
}

export const paymentEventSignal = defineSignal<[PaymentEventNotice]>('paymentEvent');

/**
 * The notice `payconfirm reconcile --fix` sends: the wake also checks every recorded mirror transaction against
 * the Stripe customer and makes a lost one again.
 */
export const RECONCILE_NOTICE_TYPE = 'payconfirm.reconcile';

/** The payment's current state: stage, reason it waits, ids written so far. */
export const paymentStateQuery = defineQuery<PaymentState>('state');

/** Operator updates, accepted only while the payment waits in needs_attention (rules: operator-actions.ts). Each answers with the state once the workflow has taken it up. */
export const retryUpdate = defineUpdate<PaymentState, []>('retry');
export const resolveUpdate = defineUpdate<PaymentState, [ResolveInput]>('resolve');
export const rejectUpdate = defineUpdate<PaymentState, [RejectInput]>('reject');
export const skipMirrorUpdate = defineUpdate<PaymentState, [SkipMirrorInput]>('skipMirror');
