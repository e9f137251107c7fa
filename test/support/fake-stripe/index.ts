/**
 * A stateful, in-process fake of the Stripe v1 API for integration tests,
 * reached by the real `stripe` SDK:
 *
 *   const fake = await startFakeStripe();
 *   const stripe = new Stripe(fake.apiKey, { host: fake.host, port: fake.port, protocol: 'http', maxNetworkRetries: 0 });
 *
 * Objects handed out by the setup API are copies; change state through the
 * API (or the setup methods), not by mutating them.
 */
import Stripe from 'stripe';
import { FakeStripeServer } from './fake-stripe-server.js';
import type { PaymentIntentSetup } from './fake-stripe-state.js';
import type { FaultHandle, FaultRule } from './fault-injector.js';
import type { PathPattern } from './path-pattern.js';
import type { RateLimits } from './rate-limiter.js';
import type { InitialRefundStatus } from './refund-lifecycle.js';
import type { RequestLogEntry } from './request-log.js';
import { subscriptionView, type SubscriptionChanges, type SubscriptionObject, type SubscriptionSetup } from './subscriptions.js';
import {
  buildEvent,
  type CustomerBalanceTransactionObject,
  type CustomerInit,
  type CustomerObject,
  type DeletedCustomerObject,
  type DisputeObject,
  type DisputeStatus,
  type EventInit,
  type EventObject,
  type PaymentIntentObject,
  type PaymentIntentStatus,
  type RefundObject,
  type RefundStatus,
} from './stripe-objects.js';

export interface FakeStripeOptions {
  /** How long a saved idempotency key is replayed. Default 24h. */
  idempotencyWindowMs?: number;
  /** The only accepted secret key; anything else gets a 401. Default `sk_test_fake`. */
  apiKey?: string;
  /**
   * Enforce Stripe's rate limiter: requests per sliding second for the account and for each operation (method + path
   * template); over either, 429 `rate_limit_error` with Retry-After 1 (logged with status 429). Default: no limit.
   */
  rateLimits?: RateLimits;
}

export interface RefundSetup {
  /** Default `succeeded`. A pending refund already counts in the charge's `amount_refunded`. */
  status?: InitialRefundStatus;
}

export interface RefundStatusOptions {
  /** `failure_reason` of a `failed` (default `unknown`) or `canceled` (default `null`) refund. */
  failureReason?: string;
}

export interface DisputeSetup {
  /** Default: the charge's amount not refunded. */
  amount?: number;
  /** Opens an inquiry (`warning_needs_response`, no money moves) instead of a chargeback (`needs_response`). */
  inquiry?: boolean;
  /** Default `fraudulent`. */
  reason?: string;
}

export interface FakeStripeFaults {
  add(rule: FaultRule): FaultHandle;
  /** Removes every rule, releasing requests they hold. */
  clear(): void;
}

export interface FakeStripe {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly apiKey: string;
  close(): Promise<void>;

  createCustomer(init?: CustomerInit): CustomerObject;
  /**
   * Deletes the customer, as `DELETE /v1/customers/:id` would: a retrieve then
   * answers `{ id, object: 'customer', deleted: true }`, every other call
   * (balance transactions included) a 404 "No such customer", and
   * `getCustomer` `undefined`.
   */
  deleteCustomer(id: string): DeletedCustomerObject;
  /** Status defaults to `succeeded` (with a charge and `amount_received = amount`). */
  createPaymentIntent(setup: PaymentIntentSetup): PaymentIntentObject;
  /** Becoming `succeeded` creates the charge if the intent has none yet. */
  setPaymentIntentStatus(id: string, status: PaymentIntentStatus): PaymentIntentObject;
  /** Refunds `amount` (default: everything not refunded yet) of the intent's charge. */
  refundPaymentIntent(id: string, amount?: number, opts?: RefundSetup): RefundObject;
  /**
   * Moves a refund as Stripe would: `pending` / `requires_action` -> `succeeded` |
   * `failed` | `canceled`; `requires_action` -> `pending`; `succeeded` -> `failed`.
   * Becoming `failed` or `canceled` gives the amount back to the charge
   * (`amount_refunded`, `refunded`). Any other move throws an `Error`.
   */
  setRefundStatus(refundId: string, status: RefundStatus, opts?: RefundStatusOptions): RefundObject;
  /**
   * Opens a dispute on the intent's latest charge (an `Error` if it has none)
   * and marks the charge `disputed`. A chargeback withdraws the amount at once
   * (a `dispute` balance transaction of `-amount`); an inquiry moves no money.
   */
  createDispute(paymentIntentId: string, opts?: DisputeSetup): DisputeObject;
  /**
   * Moves a dispute as Stripe would: `warning_needs_response` -> `warning_under_review` |
   * `warning_closed` | `needs_response`; `warning_under_review` -> `warning_closed` |
   * `needs_response`; `needs_response` -> `under_review` | `won` | `lost`;
   * `under_review` -> `won` | `lost`. Escalating an inquiry withdraws the funds;
   * winning a chargeback reinstates them (a `dispute_reversal` of `+amount`).
   * Any other move throws an `Error`.
   */
  setDisputeStatus(id: string, status: DisputeStatus): DisputeObject;
  getPaymentIntent(id: string): PaymentIntentObject | undefined;
  /** `undefined` for an unknown or deleted customer. */
  getCustomer(id: string): CustomerObject | undefined;
  getRefund(id: string): RefundObject | undefined;
  getDispute(id: string): DisputeObject | undefined;
  /**
   * A subscription of an existing customer (a plain `Error` otherwise), `active` unless told (`trialing` with
   * `trialDays`), its items' period starting now. `GET /v1/subscriptions/:id` then serves it.
   */
  createSubscription(setup: SubscriptionSetup): SubscriptionObject;
  /** Changes a subscription as the Dashboard or the API would (status, cancel at period end, items, quantity, pause). */
  updateSubscription(id: string, changes: SubscriptionChanges): SubscriptionObject;
  /** Moves every item to its next billing period. */
  renewSubscription(id: string): SubscriptionObject;
  /** Cancels now (`DELETE /v1/subscriptions/:id`): status `canceled`, `canceled_at`/`ended_at` set; still retrievable. */
  cancelSubscription(id: string): SubscriptionObject;
  /** The subscription as `GET /v1/subscriptions/:id` answers it (first 10 items embedded); `undefined` if unknown. */
  getSubscription(id: string): SubscriptionObject | undefined;
  /** Every customer balance transaction created (of one customer if given), oldest first. */
  balanceTransactions(customerId?: string): CustomerBalanceTransactionObject[];
  /**
   * Plants drift: removes a customer balance transaction as if Stripe had never
   * applied it. The customer's balance (and later transactions' `ending_balance`)
   * move back by its amount, it leaves every list, and saved idempotency keys
   * whose result was this transaction are forgotten, so a retry under the same
   * key creates a new one. Returns the removed transaction.
   */
  deleteBalanceTransaction(id: string): CustomerBalanceTransactionObject;
  /** A Stripe `event` wrapping `object` (not stored, not sent anywhere). */
  buildEvent<T extends object>(type: string, object: T, opts?: EventInit): EventObject<T>;
  /**
   * An event that happened: built like `buildEvent` around a snapshot of `object`, and kept, as Stripe keeps every
   * event — `GET /v1/events` lists it (newest first, last 30 days; `created` may be set to place it in time) and
   * `GET /v1/events/:id` retrieves it. Whether it is also delivered to a webhook endpoint is the test's choice
   * (an endpoint that was down never got it); the object returned is the one to deliver.
   */
  recordEvent<T extends object>(type: string, object: T, opts?: EventInit): EventObject<T>;
  /** Every event recorded, newest first. */
  events(): EventObject[];

  readonly faults: FakeStripeFaults;
  /** Forgets every saved idempotency key now, as if the retention window had passed. */
  expireIdempotencyKeys(): void;
  /** Live log of every request received, in arrival order. */
  readonly requests: readonly RequestLogEntry[];
  requestsTo(method: string, path: PathPattern): RequestLogEntry[];
}

const DAY_MS = 24 * 60 * 60 * 1000;
const HOST = '127.0.0.1';

export async function startFakeStripe(options: FakeStripeOptions = {}): Promise<FakeStripe> {
  const apiKey = options.apiKey ?? 'sk_test_fake';
  const server = await FakeStripeServer.listen({
    host: HOST,
    apiKey,
    apiVersion: Stripe.API_VERSION,
    idempotencyWindowMs: options.idempotencyWindowMs ?? DAY_MS,
    ...(options.rateLimits ? { rateLimits: options.rateLimits } : {}),
  });
  const { state, faults, log } = server;
  return {
    url: `http://${HOST}:${server.port}`,
    host: HOST,
    port: server.port,
    apiKey,
    close: () => server.close(),
    createCustomer: (init = {}) => copy(state.createCustomer(init)),
    deleteCustomer: (id) => copy(state.deleteCustomer(id)),
    createPaymentIntent: (setup) => copy(state.createPaymentIntent({ ...setup, status: setup.status ?? 'succeeded' })),
    setPaymentIntentStatus: (id, status) => copy(state.setPaymentIntentStatus(id, status)),
    refundPaymentIntent: (id, amount, opts = {}) =>
      copy(state.createRefund({ paymentIntent: id, amount, status: opts.status ?? 'succeeded' })),
    setRefundStatus: (refundId, status, opts) => copy(state.setRefundStatus(refundId, status, opts)),
    createDispute: (paymentIntentId, opts = {}) => copy(state.createDispute({ ...opts, paymentIntent: paymentIntentId })),
    setDisputeStatus: (id, status) => copy(state.setDisputeStatus(id, status)),
    getPaymentIntent: (id) => copyIfFound(state.findPaymentIntent(id)),
    getCustomer: (id) => copyIfFound(state.findCustomer(id)),
    getRefund: (id) => copyIfFound(state.findRefund(id)),
    getDispute: (id) => copyIfFound(state.findDispute(id)),
    createSubscription: (setup) => copy(subscriptionView(state.subscriptions.create(setup))),
    updateSubscription: (id, changes) => copy(subscriptionView(state.subscriptions.update(id, changes))),
    renewSubscription: (id) => copy(subscriptionView(state.subscriptions.renew(id))),
    cancelSubscription: (id) => copy(subscriptionView(state.subscriptions.cancel(id))),
    getSubscription: (id) => {
      const sub = state.subscriptions.find(id);
      return sub === undefined ? undefined : copy(subscriptionView(sub));
    },
    balanceTransactions: (customerId) => copy(state.listBalanceTransactions(customerId)),
    deleteBalanceTransaction: (id) => {
      const removed = state.deleteBalanceTransaction(id);
      server.forgetSavedResponsesOf(removed.id);
      return copy(removed);
    },
    buildEvent: (type, object, opts) => buildEvent(type, object, Stripe.API_VERSION, opts),
    recordEvent: (type, object, opts) => copy(state.recordEvent(buildEvent(type, copy(object), Stripe.API_VERSION, opts))) as EventObject<typeof object>,
    events: () => copy(state.allEvents()),
    faults: { add: (rule) => faults.add(rule), clear: () => faults.clear() },
    expireIdempotencyKeys: () => server.expireIdempotencyKeys(),
    get requests() {
      return log.entries;
    },
    requestsTo: (method, path) => log.to(method, path),
  };
}

function copy<T>(value: T): T {
  return structuredClone(value);
}

function copyIfFound<T>(value: T | undefined): T | undefined {
  return value === undefined ? undefined : copy(value);
}

export type { EventFilter, PaymentIntentSetup } from './fake-stripe-state.js';
export type { InitialRefundStatus } from './refund-lifecycle.js';
export type {
  PriceInterval,
  PriceObject,
  SubscriptionChanges,
  SubscriptionItemInit,
  SubscriptionItemObject,
  SubscriptionObject,
  SubscriptionSetup,
  SubscriptionStatus,
} from './subscriptions.js';
export type { ErrorFault, FaultHandle, FaultKind, FaultMethod, FaultRule, LostResponseFault, RateLimitFault, TimeoutFault } from './fault-injector.js';
export type { FormObject, FormValue } from './form-body.js';
export type { PathPattern } from './path-pattern.js';
export type { RateLimits } from './rate-limiter.js';
export type { RequestLogEntry } from './request-log.js';
export type { StripeErrorPayload, StripeErrorType } from './stripe-errors.js';
export type {
  BalanceTransactionObject,
  ChargeObject,
  CustomerBalanceTransactionObject,
  CustomerInit,
  CustomerObject,
  DeletedCustomerObject,
  DisputeObject,
  DisputeStatus,
  EventInit,
  EventObject,
  ListObject,
  Metadata,
  PaymentIntentObject,
  PaymentIntentStatus,
  RefundObject,
  RefundStatus,
} from './stripe-objects.js';
export { waitUntil } from './wait-until.js';
