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
import type { RequestLogEntry } from './request-log.js';
import {
  buildEvent,
  type CustomerBalanceTransactionObject,
  type CustomerInit,
  type CustomerObject,
  type EventInit,
  type EventObject,
  type PaymentIntentObject,
  type PaymentIntentStatus,
  type RefundObject,
} from './stripe-objects.js';

export interface FakeStripeOptions {
  /** How long a saved idempotency key is replayed. Default 24h. */
  idempotencyWindowMs?: number;
  /** The only accepted secret key; anything else gets a 401. Default `sk_test_fake`. */
  apiKey?: string;
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
  /** Status defaults to `succeeded` (with a charge and `amount_received = amount`). */
  createPaymentIntent(setup: PaymentIntentSetup): PaymentIntentObject;
  /** Becoming `succeeded` creates the charge if the intent has none yet. */
  setPaymentIntentStatus(id: string, status: PaymentIntentStatus): PaymentIntentObject;
  /** Refunds `amount` (default: everything not refunded yet) of the intent's charge. */
  refundPaymentIntent(id: string, amount?: number): RefundObject;
  getPaymentIntent(id: string): PaymentIntentObject | undefined;
  getCustomer(id: string): CustomerObject | undefined;
  /** Every customer balance transaction created (of one customer if given), oldest first. */
  balanceTransactions(customerId?: string): CustomerBalanceTransactionObject[];
  /** A Stripe `event` wrapping `object` (not stored, not sent anywhere). */
  buildEvent<T extends object>(type: string, object: T, opts?: EventInit): EventObject<T>;

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
  });
  const { state, faults, log } = server;
  return {
    url: `http://${HOST}:${server.port}`,
    host: HOST,
    port: server.port,
    apiKey,
    close: () => server.close(),
    createCustomer: (init = {}) => copy(state.createCustomer(init)),
    createPaymentIntent: (setup) => copy(state.createPaymentIntent({ ...setup, status: setup.status ?? 'succeeded' })),
    setPaymentIntentStatus: (id, status) => copy(state.setPaymentIntentStatus(id, status)),
    refundPaymentIntent: (id, amount) => copy(state.createRefund({ paymentIntent: id, amount })),
    getPaymentIntent: (id) => copyIfFound(state.findPaymentIntent(id)),
    getCustomer: (id) => copyIfFound(state.findCustomer(id)),
    balanceTransactions: (customerId) => copy(state.listBalanceTransactions(customerId)),
    buildEvent: (type, object, opts) => buildEvent(type, object, Stripe.API_VERSION, opts),
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

export type { PaymentIntentSetup } from './fake-stripe-state.js';
export type { ErrorFault, FaultHandle, FaultKind, FaultMethod, FaultRule, LostResponseFault, RateLimitFault, TimeoutFault } from './fault-injector.js';
export type { FormObject, FormValue } from './form-body.js';
export type { PathPattern } from './path-pattern.js';
export type { RequestLogEntry } from './request-log.js';
export type { StripeErrorPayload, StripeErrorType } from './stripe-errors.js';
export type {
  ChargeObject,
  CustomerBalanceTransactionObject,
  CustomerInit,
  CustomerObject,
  EventInit,
  EventObject,
  ListObject,
  Metadata,
  PaymentIntentObject,
  PaymentIntentStatus,
  RefundObject,
} from './stripe-objects.js';
export { waitUntil } from './wait-until.js';
