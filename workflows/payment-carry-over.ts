import { ledgerKeyForPaymentCredit } from '../src/domain/idempotency-keys.js';
import type { PaymentCarryOver } from './payment-workflow-input.js';

/**
 * What a payment run hands the next one of its value lists, bounded: a wait of weeks woken by thousands of events
 * must not grow the continue-as-new input (and every later run's first history event) without end.
 *
 * - `eventIds`: the newest CARRIED_EVENT_IDS_MAX, in arrival order. They serve one later purpose, the not_eligible
 *   verdict on their inbox rows; the eligibility of a waiting payment was settled by its first pass, so an older id
 *   dropped here loses nothing a later pass decides. (An older event redelivered is taken as new: one more wake.)
 * - `ledgerKeysWritten`: only the payment credit's key. The outcome's `ledgerEntryCreated` asks for that key alone;
 *   the keys of other movements a failed pass wrote (refunds, disputes) are in the ledger, which every pass reads.
 */
export const CARRIED_EVENT_IDS_MAX = 100;

export type CarriedLists = Pick<PaymentCarryOver, 'eventIds' | 'ledgerKeysWritten'>;

export function boundedCarryOver(paymentIntentId: string, lists: CarriedLists): CarriedLists {
  const creditKey = ledgerKeyForPaymentCredit(paymentIntentId);
  return {
    eventIds: lists.eventIds.slice(-CARRIED_EVENT_IDS_MAX),
    ledgerKeysWritten: lists.ledgerKeysWritten.includes(creditKey) ? [creditKey] : [],
  };
}
