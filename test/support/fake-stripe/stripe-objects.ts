/**
 * Stripe API object shapes (the subset of fields the fake models) and pure
 * builders for them. Builders only assemble objects; state transitions live
 * in fake-stripe-state.ts.
 */
import { newId, randomAlphanumeric, unixSeconds } from './ids.js';

export type Metadata = Record<string, string>;

export type PaymentIntentStatus =
  | 'requires_payment_method'
  | 'requires_confirmation'
  | 'requires_action'
  | 'processing'
  | 'requires_capture'
  | 'canceled'
  | 'succeeded';

export type RefundStatus = 'pending' | 'requires_action' | 'succeeded' | 'failed' | 'canceled';

/** Inquiries are the `warning_*` statuses; the others belong to chargebacks. */
export type DisputeStatus =
  | 'warning_needs_response'
  | 'warning_under_review'
  | 'warning_closed'
  | 'needs_response'
  | 'under_review'
  | 'won'
  | 'lost';

export interface CustomerObject {
  id: string;
  object: 'customer';
  balance: number;
  created: number;
  currency: string | null;
  description: string | null;
  email: string | null;
  livemode: false;
  metadata: Metadata;
  name: string | null;
}

/** What Stripe answers for a customer that was deleted. */
export interface DeletedCustomerObject {
  id: string;
  object: 'customer';
  deleted: true;
}

export interface PaymentIntentObject {
  id: string;
  object: 'payment_intent';
  amount: number;
  amount_capturable: number;
  amount_received: number;
  canceled_at: number | null;
  capture_method: 'automatic';
  client_secret: string;
  created: number;
  currency: string;
  customer: string | null;
  description: string | null;
  latest_charge: string | null;
  livemode: false;
  metadata: Metadata;
  payment_method: string | null;
  payment_method_types: string[];
  status: PaymentIntentStatus;
}

export interface ChargeObject {
  id: string;
  object: 'charge';
  amount: number;
  amount_captured: number;
  amount_refunded: number;
  balance_transaction: string;
  captured: boolean;
  created: number;
  currency: string;
  customer: string | null;
  disputed: boolean;
  livemode: false;
  metadata: Metadata;
  paid: boolean;
  payment_intent: string;
  refunded: boolean;
  status: 'succeeded';
}

export interface RefundObject {
  id: string;
  object: 'refund';
  amount: number;
  balance_transaction: string;
  charge: string;
  created: number;
  currency: string;
  failure_reason: string | null;
  metadata: Metadata;
  payment_intent: string;
  reason: string | null;
  status: RefundStatus;
}

/** An entry of the account balance (not a customer balance). */
export interface BalanceTransactionObject {
  id: string;
  object: 'balance_transaction';
  /** Negative: funds withdrawn from the account; positive: funds reinstated. */
  amount: number;
  created: number;
  currency: string;
  description: string | null;
  reporting_category: 'dispute' | 'dispute_reversal';
  type: 'adjustment';
}

export interface DisputeObject {
  id: string;
  object: 'dispute';
  amount: number;
  /** Zero, one (withdrawal) or two (withdrawal, reinstatement) entries, oldest first. */
  balance_transactions: BalanceTransactionObject[];
  charge: string;
  created: number;
  currency: string;
  is_charge_refundable: false;
  livemode: false;
  metadata: Metadata;
  payment_intent: string;
  reason: string;
  status: DisputeStatus;
}

export interface CustomerBalanceTransactionObject {
  id: string;
  object: 'customer_balance_transaction';
  amount: number;
  created: number;
  currency: string;
  customer: string;
  description: string | null;
  ending_balance: number;
  livemode: false;
  metadata: Metadata;
  type: 'adjustment';
}

export interface ListObject<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
  url: string;
}

export interface EventObject<T extends object = object> {
  id: string;
  object: 'event';
  api_version: string;
  created: number;
  data: { object: T };
  livemode: false;
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null };
  type: string;
}

export interface CustomerInit {
  id?: string;
  email?: string | null;
  name?: string | null;
  description?: string | null;
  currency?: string | null;
  metadata?: Metadata;
}

export function buildCustomer(init: CustomerInit): CustomerObject {
  return {
    id: init.id ?? newId('cus'),
    object: 'customer',
    balance: 0,
    created: unixSeconds(),
    currency: init.currency?.toLowerCase() ?? null,
    description: init.description ?? null,
    email: init.email ?? null,
    livemode: false,
    metadata: { ...init.metadata },
    name: init.name ?? null,
  };
}

export function buildDeletedCustomer(id: string): DeletedCustomerObject {
  return { id, object: 'customer', deleted: true };
}

export interface PaymentIntentInit {
  id?: string;
  amount: number;
  currency: string;
  customer?: string | null;
  description?: string | null;
  payment_method?: string | null;
  metadata?: Metadata;
}

/** A fresh intent awaiting payment; callers move it to other statuses. */
export function buildPaymentIntent(init: PaymentIntentInit): PaymentIntentObject {
  const id = init.id ?? newId('pi');
  return {
    id,
    object: 'payment_intent',
    amount: init.amount,
    amount_capturable: 0,
    amount_received: 0,
    canceled_at: null,
    capture_method: 'automatic',
    client_secret: `${id}_secret_${randomAlphanumeric(25)}`,
    created: unixSeconds(),
    currency: init.currency.toLowerCase(),
    customer: init.customer ?? null,
    description: init.description ?? null,
    latest_charge: null,
    livemode: false,
    metadata: { ...init.metadata },
    payment_method: init.payment_method ?? null,
    payment_method_types: ['card'],
    status: 'requires_payment_method',
  };
}

export function buildCharge(intent: PaymentIntentObject): ChargeObject {
  return {
    id: newId('ch'),
    object: 'charge',
    amount: intent.amount,
    amount_captured: intent.amount,
    amount_refunded: 0,
    balance_transaction: newId('txn'),
    captured: true,
    created: unixSeconds(),
    currency: intent.currency,
    customer: intent.customer,
    disputed: false,
    livemode: false,
    metadata: {},
    paid: true,
    payment_intent: intent.id,
    refunded: false,
    status: 'succeeded',
  };
}

export interface RefundExtras {
  metadata?: Metadata;
  reason?: string | null;
  status?: RefundStatus;
}

export function buildRefund(charge: ChargeObject, amount: number, extras: RefundExtras = {}): RefundObject {
  return {
    id: newId('re'),
    object: 'refund',
    amount,
    balance_transaction: newId('txn'),
    charge: charge.id,
    created: unixSeconds(),
    currency: charge.currency,
    failure_reason: null,
    metadata: { ...extras.metadata },
    payment_intent: charge.payment_intent,
    reason: extras.reason ?? null,
    status: extras.status ?? 'succeeded',
  };
}

export interface DisputeInit {
  amount: number;
  reason: string;
  status: DisputeStatus;
}

/** A dispute without balance transactions; the state adds them as funds move. */
export function buildDispute(charge: ChargeObject, init: DisputeInit): DisputeObject {
  return {
    id: newId('dp'),
    object: 'dispute',
    amount: init.amount,
    balance_transactions: [],
    charge: charge.id,
    created: unixSeconds(),
    currency: charge.currency,
    is_charge_refundable: false,
    livemode: false,
    metadata: {},
    payment_intent: charge.payment_intent,
    reason: init.reason,
    status: init.status,
  };
}

/** The withdrawal (`dispute`) or reinstatement (`dispute_reversal`) of a chargeback's funds. */
export function buildDisputeBalanceTransaction(
  dispute: DisputeObject,
  category: BalanceTransactionObject['reporting_category'],
): BalanceTransactionObject {
  const withdrawal = category === 'dispute';
  return {
    id: newId('txn'),
    object: 'balance_transaction',
    amount: withdrawal ? -dispute.amount : dispute.amount,
    created: unixSeconds(),
    currency: dispute.currency,
    description: `Chargeback ${withdrawal ? 'withdrawal' : 'reversal'} for ${dispute.charge}`,
    reporting_category: category,
    type: 'adjustment',
  };
}

export interface BalanceTransactionInit {
  customer: string;
  amount: number;
  currency: string;
  endingBalance: number;
  description?: string | null;
  metadata?: Metadata;
}

export function buildBalanceTransaction(init: BalanceTransactionInit): CustomerBalanceTransactionObject {
  return {
    id: newId('cbtxn'),
    object: 'customer_balance_transaction',
    amount: init.amount,
    created: unixSeconds(),
    currency: init.currency,
    customer: init.customer,
    description: init.description ?? null,
    ending_balance: init.endingBalance,
    livemode: false,
    metadata: { ...init.metadata },
    type: 'adjustment',
  };
}

export interface EventInit {
  id?: string;
  created?: number;
}

export function buildEvent<T extends object>(type: string, object: T, apiVersion: string, init: EventInit = {}): EventObject<T> {
  return {
    id: init.id ?? newId('evt'),
    object: 'event',
    api_version: apiVersion,
    created: init.created ?? unixSeconds(),
    data: { object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  };
}
