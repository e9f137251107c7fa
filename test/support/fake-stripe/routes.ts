/**
 * The Stripe v1 endpoints the fake serves. Each route validates its
 * parameters in `prepare` and returns the execution that reads or changes
 * `FakeStripeState`.
 */
import type { EventFilter, FakeStripeState } from './fake-stripe-state.js';
import { formList, type FormObject } from './form-body.js';
import { listExpansion, objectExpansion, type Expanders } from './expand.js';
import { initialMetadata, readMetadataParam } from './metadata.js';
import { paginate, PAGE_PARAMS, readPageRequest } from './pagination.js';
import {
  optionalBoolean,
  optionalInteger,
  optionalString,
  rejectUnknownParams,
  requiredCurrency,
  requiredInteger,
} from './params.js';
import { route, type Route } from './router.js';
import { invalidRequest, parameterInvalid, parameterMissing } from './stripe-errors.js';
import type { PaymentIntentStatus } from './stripe-objects.js';
import { subscriptionView } from './subscriptions.js';

const REFUND_REASONS = ['duplicate', 'fraudulent', 'requested_by_customer'];

export function stripeRoutes(state: FakeStripeState): Route[] {
  const customer = (id: string): object | undefined => state.lookupCustomer(id);
  const charge = (id: string): object | undefined => state.findCharge(id);
  const paymentIntent = (id: string): object | undefined => state.findPaymentIntent(id);
  const intentExpanders: Expanders = { customer, latest_charge: charge };
  const chargeAndIntent: Expanders = { charge, payment_intent: paymentIntent };

  return [
    route('POST', '/v1/payment_intents', ({ params }) => {
      rejectUnknownParams(params, ['amount', 'currency', 'customer', 'description', 'metadata', 'payment_method', 'confirm']);
      const init = {
        amount: requiredInteger(params, 'amount', { min: 1 }),
        currency: requiredCurrency(params),
        customer: optionalString(params, 'customer'),
        description: optionalString(params, 'description'),
        payment_method: optionalString(params, 'payment_method'),
        metadata: initialMetadata(params),
      };
      const confirm = optionalBoolean(params, 'confirm') ?? false;
      if (confirm && init.payment_method === undefined) throw parameterMissing('payment_method');
      const status: PaymentIntentStatus = confirm
        ? 'succeeded'
        : init.payment_method === undefined ? 'requires_payment_method' : 'requires_confirmation';
      const expand = objectExpansion(params, intentExpanders);
      return () => expand(state.createPaymentIntent({ ...init, status }));
    }),

    route('GET', '/v1/payment_intents/:id', (input) => {
      rejectUnknownParams(input.params, []);
      const expand = objectExpansion(input.params, intentExpanders);
      return () => expand(state.requirePaymentIntent(input.pathParam('id')));
    }),

    route('POST', '/v1/payment_intents/:id', (input) => {
      const { params } = input;
      rejectUnknownParams(params, ['description', 'metadata']);
      const changes = { description: optionalString(params, 'description'), metadata: readMetadataParam(params['metadata']) };
      const expand = objectExpansion(params, intentExpanders);
      return () => expand(state.updatePaymentIntent(input.pathParam('id'), changes));
    }),

    route('POST', '/v1/customers', ({ params }) => {
      rejectUnknownParams(params, ['email', 'name', 'description', 'metadata']);
      const init = {
        email: optionalString(params, 'email'),
        name: optionalString(params, 'name'),
        description: optionalString(params, 'description'),
        metadata: initialMetadata(params),
      };
      const expand = objectExpansion(params, {});
      return () => expand(state.createCustomer(init));
    }),

    route('GET', '/v1/customers/:id', (input) => {
      rejectUnknownParams(input.params, []);
      const expand = objectExpansion(input.params, {});
      return () => expand(state.retrieveCustomer(input.pathParam('id')));
    }),

    route('POST', '/v1/customers/:id/balance_transactions', (input) => {
      const { params } = input;
      rejectUnknownParams(params, ['amount', 'currency', 'description', 'metadata']);
      const request = {
        customer: input.pathParam('id'),
        amount: requiredInteger(params, 'amount'),
        currency: requiredCurrency(params),
        description: optionalString(params, 'description'),
        metadata: initialMetadata(params),
      };
      const expand = objectExpansion(params, { customer });
      return () => expand(state.createBalanceTransaction(request));
    }),

    route('GET', '/v1/customers/:id/balance_transactions', (input) => {
      const { params } = input;
      rejectUnknownParams(params, PAGE_PARAMS);
      const page = readPageRequest(params);
      const expand = listExpansion(params, { customer });
      return () => {
        const owner = state.requireCustomer(input.pathParam('id'));
        const newestFirst = state.listBalanceTransactions(owner.id).reverse();
        return expand(paginate(newestFirst, page, `/v1/customers/${owner.id}/balance_transactions`, 'customer_balance_transaction'));
      };
    }),

    route('POST', '/v1/refunds', ({ params }) => {
      rejectUnknownParams(params, ['payment_intent', 'charge', 'amount', 'metadata', 'reason']);
      const request = {
        paymentIntent: optionalString(params, 'payment_intent'),
        charge: optionalString(params, 'charge'),
        amount: optionalInteger(params, 'amount', { min: 1 }),
        reason: optionalString(params, 'reason'),
        metadata: initialMetadata(params),
      };
      if (request.paymentIntent === undefined && request.charge === undefined) {
        throw invalidRequest('One of the following params should be provided for this request: charge or payment_intent.');
      }
      if (request.reason !== undefined && !REFUND_REASONS.includes(request.reason)) {
        throw parameterInvalid('reason', `Invalid reason: must be one of ${REFUND_REASONS.join(', ')}`);
      }
      const expand = objectExpansion(params, chargeAndIntent);
      return () => expand(state.createRefund(request));
    }),

    route('GET', '/v1/refunds', ({ params }) => {
      rejectUnknownParams(params, ['payment_intent', 'charge', ...PAGE_PARAMS]);
      const filter = { paymentIntent: optionalString(params, 'payment_intent'), charge: optionalString(params, 'charge') };
      const page = readPageRequest(params);
      const expand = listExpansion(params, chargeAndIntent);
      return () => expand(paginate(state.listRefunds(filter), page, '/v1/refunds', 'refund'));
    }),

    route('GET', '/v1/refunds/:id', (input) => {
      rejectUnknownParams(input.params, []);
      const expand = objectExpansion(input.params, chargeAndIntent);
      return () => expand(state.requireRefund(input.pathParam('id')));
    }),

    route('GET', '/v1/disputes', ({ params }) => {
      rejectUnknownParams(params, ['payment_intent', 'charge', ...PAGE_PARAMS]);
      const filter = { paymentIntent: optionalString(params, 'payment_intent'), charge: optionalString(params, 'charge') };
      const page = readPageRequest(params);
      const expand = listExpansion(params, chargeAndIntent);
      return () => expand(paginate(state.listDisputes(filter), page, '/v1/disputes', 'dispute'));
    }),

    route('GET', '/v1/disputes/:id', (input) => {
      rejectUnknownParams(input.params, []);
      const expand = objectExpansion(input.params, chargeAndIntent);
      return () => expand(state.requireDispute(input.pathParam('id')));
    }),

    route('GET', '/v1/events', ({ params }) => {
      rejectUnknownParams(params, ['created', 'type', 'types', ...PAGE_PARAMS]);
      const filter = readEventFilter(params);
      const page = readPageRequest(params);
      const expand = listExpansion(params, {});
      return () => expand(paginate(state.listEvents(filter), page, '/v1/events', 'event'));
    }),

    route('GET', '/v1/events/:id', (input) => {
      rejectUnknownParams(input.params, []);
      const expand = objectExpansion(input.params, {});
      return () => expand(state.requireEvent(input.pathParam('id')));
    }),

    route('GET', '/v1/subscriptions/:id', (input) => {
      rejectUnknownParams(input.params, []);
      const expand = objectExpansion(input.params, { customer });
      return () => expand(subscriptionView(state.subscriptions.require(input.pathParam('id'))));
    }),

    route('GET', '/v1/subscription_items', ({ params }) => {
      rejectUnknownParams(params, ['subscription', ...PAGE_PARAMS]);
      const subscription = optionalString(params, 'subscription');
      if (subscription === undefined) throw parameterMissing('subscription');
      const page = readPageRequest(params);
      const expand = listExpansion(params, {});
      return () => expand(paginate(state.subscriptions.items(subscription), page, '/v1/subscription_items', 'subscription_item'));
    }),

    route('GET', '/v1/charges/:id', (input) => {
      rejectUnknownParams(input.params, []);
      const expand = objectExpansion(input.params, { customer, payment_intent: paymentIntent });
      return () => expand(state.requireCharge(input.pathParam('id')));
    }),
  ];
}

const MAX_EVENT_TYPES = 20;
const CREATED_BOUNDS = ['gt', 'gte', 'lt', 'lte'] as const;

/** `created` (a timestamp, or `created[gt|gte|lt|lte]`), and `type` (wildcards) or `types[]` (up to 20), not both. */
function readEventFilter(params: FormObject): EventFilter {
  const filter: EventFilter = {};
  const created = params['created'];
  if (typeof created === 'string') {
    filter.created = { eq: requiredInteger(params, 'created') };
  } else if (created !== undefined) {
    if (Array.isArray(created)) throw parameterInvalid('created', 'Invalid timestamp or range');
    const unknown = Object.keys(created).find((key) => !(CREATED_BOUNDS as readonly string[]).includes(key));
    if (unknown !== undefined) throw parameterInvalid(`created[${unknown}]`, `Received unknown parameter: created[${unknown}]`);
    filter.created = Object.fromEntries(CREATED_BOUNDS.flatMap((bound) => {
      const value = optionalInteger(created, bound);
      return value === undefined ? [] : [[bound, value]];
    }));
  }
  const type = optionalString(params, 'type');
  if (params['types'] !== undefined) {
    if (type !== undefined) throw invalidRequest('You may pass either `type` or `types`, but not both.', { param: 'types' });
    const types = formList(params['types']);
    if (types.length > MAX_EVENT_TYPES) throw parameterInvalid('types', `Invalid array: must have at most ${MAX_EVENT_TYPES} elements`);
    if (!types.every((t): t is string => typeof t === 'string' && t !== '')) throw parameterInvalid('types', 'Invalid array of strings');
    filter.types = types;
  }
  if (type !== undefined) filter.type = type;
  return filter;
}
