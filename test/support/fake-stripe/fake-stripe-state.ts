/**
 * The fake's object store and the state transitions Stripe would perform.
 * Methods return the live stored objects; callers that hand objects to test
 * code must copy them. Business-rule failures throw Stripe-shaped `ApiError`s.
 */
import { unixSeconds } from './ids.js';
import { applyMetadata, type MetadataUpdate } from './metadata.js';
import { invalidRequest, resourceMissing } from './stripe-errors.js';
import {
  buildBalanceTransaction,
  buildCharge,
  buildCustomer,
  buildPaymentIntent,
  buildRefund,
  type ChargeObject,
  type CustomerBalanceTransactionObject,
  type CustomerInit,
  type CustomerObject,
  type Metadata,
  type PaymentIntentInit,
  type PaymentIntentObject,
  type PaymentIntentStatus,
  type RefundObject,
} from './stripe-objects.js';

export interface PaymentIntentSetup extends PaymentIntentInit {
  status?: PaymentIntentStatus;
}

export interface PaymentIntentChanges {
  description?: string;
  metadata?: MetadataUpdate;
}

export interface RefundRequest {
  paymentIntent?: string;
  charge?: string;
  amount?: number;
  metadata?: Metadata;
  reason?: string;
}

export interface BalanceTransactionRequest {
  customer: string;
  amount: number;
  currency: string;
  description?: string;
  metadata?: Metadata;
}

export interface RefundFilter {
  paymentIntent?: string;
  charge?: string;
}

/** How an object id that cannot be found was referenced: URL path (404) or body parameter (400). */
export interface Reference {
  param: string;
  status: 400 | 404;
}

const FROM_PATH: Reference = { param: 'id', status: 404 };

export class FakeStripeState {
  private readonly customers = new Map<string, CustomerObject>();
  private readonly paymentIntents = new Map<string, PaymentIntentObject>();
  private readonly charges = new Map<string, ChargeObject>();
  private readonly refunds: RefundObject[] = [];
  private readonly balanceTransactions: CustomerBalanceTransactionObject[] = [];

  createCustomer(init: CustomerInit): CustomerObject {
    return insertUnique(this.customers, buildCustomer(init));
  }

  findCustomer(id: string): CustomerObject | undefined {
    return this.customers.get(id);
  }

  requireCustomer(id: string, reference: Reference = FROM_PATH): CustomerObject {
    return required(this.customers.get(id), 'customer', id, reference);
  }

  createPaymentIntent(setup: PaymentIntentSetup): PaymentIntentObject {
    if (setup.customer != null) this.requireCustomer(setup.customer, { param: 'customer', status: 400 });
    const intent = insertUnique(this.paymentIntents, buildPaymentIntent(setup));
    return setup.status === undefined ? intent : this.setPaymentIntentStatus(intent.id, setup.status);
  }

  findPaymentIntent(id: string): PaymentIntentObject | undefined {
    return this.paymentIntents.get(id);
  }

  requirePaymentIntent(id: string, reference: Reference = FROM_PATH): PaymentIntentObject {
    return required(this.paymentIntents.get(id), 'payment_intent', id, reference);
  }

  updatePaymentIntent(id: string, changes: PaymentIntentChanges): PaymentIntentObject {
    const intent = this.requirePaymentIntent(id);
    intent.metadata = applyMetadata(intent.metadata, changes.metadata);
    if (changes.description !== undefined) intent.description = changes.description === '' ? null : changes.description;
    return intent;
  }

  /** Moves an intent to `status`; becoming `succeeded` captures the full amount with a new charge. */
  setPaymentIntentStatus(id: string, status: PaymentIntentStatus): PaymentIntentObject {
    const intent = this.requirePaymentIntent(id);
    intent.status = status;
    intent.amount_capturable = status === 'requires_capture' ? intent.amount : 0;
    if (status === 'canceled') intent.canceled_at ??= unixSeconds();
    if (status === 'succeeded') {
      intent.amount_received = intent.amount;
      intent.latest_charge ??= insertUnique(this.charges, buildCharge(intent)).id;
    }
    return intent;
  }

  findCharge(id: string): ChargeObject | undefined {
    return this.charges.get(id);
  }

  requireCharge(id: string, reference: Reference = FROM_PATH): ChargeObject {
    return required(this.charges.get(id), 'charge', id, reference);
  }

  createRefund(request: RefundRequest): RefundObject {
    const charge = this.refundableCharge(request);
    const unrefunded = charge.amount - charge.amount_refunded;
    if (unrefunded === 0) {
      throw invalidRequest(`Charge ${charge.id} has already been refunded.`, { code: 'charge_already_refunded' });
    }
    const amount = request.amount ?? unrefunded;
    if (amount > unrefunded) {
      throw invalidRequest(
        `Refund amount (${amount}) is greater than unrefunded amount on charge (${unrefunded})`,
        { code: 'amount_too_large', param: 'amount' },
      );
    }
    charge.amount_refunded += amount;
    charge.refunded = charge.amount_refunded === charge.amount;
    const refund = buildRefund(charge, amount, request);
    this.refunds.push(refund);
    return refund;
  }

  /** Newest first. */
  listRefunds(filter: RefundFilter): RefundObject[] {
    return this.refunds
      .filter((refund) => filter.paymentIntent === undefined || refund.payment_intent === filter.paymentIntent)
      .filter((refund) => filter.charge === undefined || refund.charge === filter.charge)
      .reverse();
  }

  /**
   * Applies `amount` to the customer's balance (negative = credit). A customer
   * whose balance already has a currency only accepts that currency.
   */
  createBalanceTransaction(request: BalanceTransactionRequest): CustomerBalanceTransactionObject {
    const customer = this.requireCustomer(request.customer);
    if (customer.currency !== null && customer.currency !== request.currency) {
      throw invalidRequest(
        `The customer ${customer.id} has a balance in ${customer.currency}; you cannot add a balance transaction in ${request.currency}.`,
        { param: 'currency' },
      );
    }
    customer.currency = request.currency;
    customer.balance += request.amount;
    const transaction = buildBalanceTransaction({ ...request, endingBalance: customer.balance });
    this.balanceTransactions.push(transaction);
    return transaction;
  }

  /** Oldest first; all customers unless one is given. */
  listBalanceTransactions(customerId?: string): CustomerBalanceTransactionObject[] {
    return this.balanceTransactions.filter((txn) => customerId === undefined || txn.customer === customerId);
  }

  private refundableCharge(request: RefundRequest): ChargeObject {
    const intent = request.paymentIntent === undefined
      ? undefined
      : this.requirePaymentIntent(request.paymentIntent, { param: 'payment_intent', status: 400 });
    const chargeId = request.charge ?? intent?.latest_charge;
    if (chargeId == null) {
      throw invalidRequest(`This PaymentIntent (${request.paymentIntent ?? ''}) does not have a successful charge to refund.`, {
        code: 'charge_not_refundable',
        param: 'payment_intent',
      });
    }
    const charge = this.requireCharge(chargeId, { param: 'charge', status: 400 });
    if (intent !== undefined && charge.payment_intent !== intent.id) {
      throw invalidRequest(`Charge ${charge.id} does not belong to PaymentIntent ${intent.id}.`, { param: 'charge' });
    }
    return charge;
  }
}

function insertUnique<T extends { id: string; object: string }>(store: Map<string, T>, item: T): T {
  if (store.has(item.id)) throw new Error(`fake-stripe: a ${item.object} with id ${item.id} already exists`);
  store.set(item.id, item);
  return item;
}

function required<T>(item: T | undefined, resource: string, id: string, reference: Reference): T {
  if (item === undefined) throw resourceMissing(resource, id, reference.param, reference.status);
  return item;
}
