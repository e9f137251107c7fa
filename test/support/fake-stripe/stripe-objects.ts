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
  metadata: Metadata;
  payment_intent: string;
  reason: string | null;
  status: 'succeeded';
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
    metadata: { ...extras.metadata },
    payment_intent: charge.payment_intent,
    reason: extras.reason ?? null,
    status: 'succeeded',
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
