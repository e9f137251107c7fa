/**
 * The fake's object store and the state transitions Stripe would perform.
 * Methods return the live stored objects; callers that hand objects to test
 * code must copy them. Business-rule failures throw Stripe-shaped `ApiError`s.
 */
import { canMoveDispute, fundsMovement, isInquiry } from './dispute-lifecycle.js';
import { unixSeconds } from './ids.js';
import { applyMetadata, type MetadataUpdate } from './metadata.js';
import { canMoveRefund, refundHoldsAmount, type InitialRefundStatus } from './refund-lifecycle.js';
import { invalidRequest, resourceMissing } from './stripe-errors.js';
import { SubscriptionStore } from './subscriptions.js';
import {
  buildBalanceTransaction,
  buildCharge,
  buildCustomer,
  buildDeletedCustomer,
  buildDispute,
  buildDisputeBalanceTransaction,
  buildPaymentIntent,
  buildRefund,
  type ChargeObject,
  type CustomerBalanceTransactionObject,
  type CustomerInit,
  type CustomerObject,
  type DeletedCustomerObject,
  type DisputeObject,
  type DisputeStatus,
  type EventObject,
  type Metadata,
  type PaymentIntentInit,
  type PaymentIntentObject,
  type PaymentIntentStatus,
  type RefundObject,
  type RefundStatus,
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
  /** Default `succeeded`; the API only creates succeeded refunds. */
  status?: InitialRefundStatus;
}

export interface RefundStatusChange {
  /** Only for `failed` (default `unknown`) or `canceled` (default none). */
  failureReason?: string;
}

export interface DisputeRequest {
  paymentIntent: string;
  /** Default: the part of the charge not refunded. */
  amount?: number;
  /** An inquiry (`warning_needs_response`) instead of a chargeback (`needs_response`). */
  inquiry?: boolean;
  /** Default `fraudulent`. */
  reason?: string;
}

export interface DisputeFilter {
  paymentIntent?: string;
  charge?: string;
}

export interface BalanceTransactionRequest {
  customer: string;
  amount: number;
  currency: string;
  description?: string;
  metadata?: Metadata;
}

/** `GET /v1/events` filters: a `created` range, and either exact `types` or one `type` (`*` wildcards). */
export interface EventFilter {
  created?: { gt?: number; gte?: number; lt?: number; lte?: number; eq?: number };
  types?: readonly string[];
  type?: string;
}

/** Stripe lists events of the last 30 days only. */
const EVENT_LIST_WINDOW_SECONDS = 30 * 24 * 60 * 60;

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
  private readonly disputes = new Map<string, DisputeObject>();
  private readonly balanceTransactions: CustomerBalanceTransactionObject[] = [];
  private readonly deletedCustomerIds = new Set<string>();
  /** Every event that happened, in the order it was recorded. */
  private readonly events: EventObject[] = [];
  /** Subscriptions (subscriptions.ts): a customer must exist to subscribe (400 on `customer` otherwise). */
  readonly subscriptions = new SubscriptionStore((id) => void this.requireCustomer(id, { param: 'customer', status: 400 }));

  createCustomer(init: CustomerInit): CustomerObject {
    if (init.id !== undefined && this.deletedCustomerIds.has(init.id)) {
      throw new Error(`fake-stripe: customer ${init.id} was deleted; its id cannot be reused`);
    }
    return insertUnique(this.customers, buildCustomer(init));
  }

  /** A customer that exists and is not deleted. */
  findCustomer(id: string): CustomerObject | undefined {
    return this.customers.get(id);
  }

  /** Deleted customers are missing here, as they are for every Stripe call but a retrieve. */
  requireCustomer(id: string, reference: Reference = FROM_PATH): CustomerObject {
    return required(this.customers.get(id), 'customer', id, reference);
  }

  /** What a retrieve (or an expansion) shows: the customer, or the stub of a deleted one. */
  lookupCustomer(id: string): CustomerObject | DeletedCustomerObject | undefined {
    return this.deletedCustomerIds.has(id) ? buildDeletedCustomer(id) : this.customers.get(id);
  }

  retrieveCustomer(id: string): CustomerObject | DeletedCustomerObject {
    return required(this.lookupCustomer(id), 'customer', id, FROM_PATH);
  }

  /** Stripe keeps a deleted customer's id; everything but a retrieve then answers "No such customer". */
  deleteCustomer(id: string): DeletedCustomerObject {
    this.requireCustomer(id);
    this.customers.delete(id);
    this.deletedCustomerIds.add(id);
    return buildDeletedCustomer(id);
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

  findRefund(id: string): RefundObject | undefined {
    return this.refunds.find((refund) => refund.id === id);
  }

  requireRefund(id: string, reference: Reference = FROM_PATH): RefundObject {
    return required(this.findRefund(id), 'refund', id, reference);
  }

  /**
   * Moves a refund along its lifecycle (see refund-lifecycle.ts); a refund
   * that fails or is canceled gives its amount back to the charge. A move
   * Stripe never makes throws a plain `Error` (test misuse).
   */
  setRefundStatus(id: string, status: RefundStatus, change: RefundStatusChange = {}): RefundObject {
    const refund = this.requireRefund(id);
    if (!canMoveRefund(refund.status, status)) {
      throw new Error(`fake-stripe: refund ${id} cannot go from ${refund.status} to ${status}`);
    }
    const releases = !refundHoldsAmount(status);
    if (change.failureReason !== undefined && !releases) {
      throw new Error(`fake-stripe: only a failed or canceled refund has a failure_reason (refund ${id} -> ${status})`);
    }
    if (releases) {
      const charge = this.requireCharge(refund.charge);
      charge.amount_refunded -= refund.amount;
      charge.refunded = charge.amount_refunded === charge.amount;
      refund.failure_reason = change.failureReason ?? (status === 'failed' ? 'unknown' : null);
    }
    refund.status = status;
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
   * Opens a dispute on the intent's latest charge. A chargeback withdraws the
   * disputed amount at once; an inquiry moves no money. Misuse (no charge, a
   * charge already disputed, an amount out of range) throws a plain `Error`.
   */
  createDispute(request: DisputeRequest): DisputeObject {
    const intent = this.requirePaymentIntent(request.paymentIntent);
    if (intent.latest_charge === null) {
      throw new Error(`fake-stripe: payment intent ${intent.id} has no charge to dispute`);
    }
    const charge = this.requireCharge(intent.latest_charge);
    if (charge.disputed) throw new Error(`fake-stripe: charge ${charge.id} is already disputed`);
    const amount = request.amount ?? charge.amount - charge.amount_refunded;
    if (!Number.isSafeInteger(amount) || amount < 1 || amount > charge.amount) {
      throw new Error(`fake-stripe: cannot dispute ${amount} of charge ${charge.id} (amount ${charge.amount})`);
    }
    const status: DisputeStatus = request.inquiry === true ? 'warning_needs_response' : 'needs_response';
    const dispute = insertUnique(this.disputes, buildDispute(charge, { amount, reason: request.reason ?? 'fraudulent', status }));
    if (!isInquiry(status)) dispute.balance_transactions.push(buildDisputeBalanceTransaction(dispute, 'dispute'));
    charge.disputed = true;
    return dispute;
  }

  findDispute(id: string): DisputeObject | undefined {
    return this.disputes.get(id);
  }

  requireDispute(id: string, reference: Reference = FROM_PATH): DisputeObject {
    return required(this.disputes.get(id), 'dispute', id, reference);
  }

  /**
   * Moves a dispute along its lifecycle (see dispute-lifecycle.ts), adding
   * the withdrawal or reinstatement that move causes. A move Stripe never
   * makes throws a plain `Error` (test misuse).
   */
  setDisputeStatus(id: string, status: DisputeStatus): DisputeObject {
    const dispute = this.requireDispute(id);
    if (!canMoveDispute(dispute.status, status)) {
      throw new Error(`fake-stripe: dispute ${id} cannot go from ${dispute.status} to ${status}`);
    }
    const movement = fundsMovement(dispute.status, status);
    if (movement !== undefined) dispute.balance_transactions.push(buildDisputeBalanceTransaction(dispute, movement));
    dispute.status = status;
    return dispute;
  }

  /** Newest first. */
  listDisputes(filter: DisputeFilter): DisputeObject[] {
    return [...this.disputes.values()]
      .filter((dispute) => filter.paymentIntent === undefined || dispute.payment_intent === filter.paymentIntent)
      .filter((dispute) => filter.charge === undefined || dispute.charge === filter.charge)
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

  /**
   * Removes a customer balance transaction as if it had never been applied:
   * the customer's balance and the `ending_balance` of its later transactions
   * move back by its amount. (Drift for tests; Stripe has no such call.)
   */
  deleteBalanceTransaction(id: string): CustomerBalanceTransactionObject {
    const index = this.balanceTransactions.findIndex((txn) => txn.id === id);
    const [removed] = index === -1 ? [] : this.balanceTransactions.splice(index, 1);
    if (removed === undefined) throw resourceMissing('customer_balance_transaction', id, 'id');
    for (const later of this.balanceTransactions.slice(index)) {
      if (later.customer === removed.customer) later.ending_balance -= removed.amount;
    }
    const customer = this.customers.get(removed.customer);
    if (customer !== undefined) customer.balance -= removed.amount;
    return removed;
  }

  /**
   * Records an event as having happened (Stripe keeps every event it sends): from now on it is listed and
   * retrievable. The stored event is the caller's object; hand out copies.
   */
  recordEvent(event: EventObject): EventObject {
    if (this.events.some((known) => known.id === event.id)) throw new Error(`fake-stripe: an event with id ${event.id} already exists`);
    this.events.push(event);
    return event;
  }

  findEvent(id: string): EventObject | undefined {
    return this.events.find((event) => event.id === id);
  }

  requireEvent(id: string, reference: Reference = FROM_PATH): EventObject {
    return required(this.findEvent(id), 'event', id, reference);
  }

  /**
   * As `GET /v1/events` lists them: newest `created` first (within a second, the later recorded first), only the
   * last 30 days, filtered.
   */
  listEvents(filter: EventFilter, nowSeconds = unixSeconds()): EventObject[] {
    const { created = {}, types, type } = filter;
    const typePattern = type === undefined ? undefined : new RegExp(`^${type.split('*').map(escapeRegExp).join('.*')}$`);
    return this.events
      .map((event, order) => ({ event, order }))
      .filter(({ event }) => event.created >= nowSeconds - EVENT_LIST_WINDOW_SECONDS)
      .filter(({ event }) => created.eq === undefined || event.created === created.eq)
      .filter(({ event }) => created.gt === undefined || event.created > created.gt)
      .filter(({ event }) => created.gte === undefined || event.created >= created.gte)
      .filter(({ event }) => created.lt === undefined || event.created < created.lt)
      .filter(({ event }) => created.lte === undefined || event.created <= created.lte)
      .filter(({ event }) => types === undefined || types.includes(event.type))
      .filter(({ event }) => typePattern === undefined || typePattern.test(event.type))
      .sort((a, b) => b.event.created - a.event.created || b.order - a.order)
      .map(({ event }) => event);
  }

  /** Every event recorded, newest first (outside the list window too). */
  allEvents(): EventObject[] {
    return this.listEvents({}, Number.NEGATIVE_INFINITY);
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

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function required<T>(item: T | undefined, resource: string, id: string, reference: Reference): T {
  if (item === undefined) throw resourceMissing(resource, id, reference.param, reference.status);
  return item;
}
