import type { MoneyPolicy } from '../../src/domain/credit-policy.js';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import Stripe from 'stripe';
import { webhookRoutes } from '../../src/api/routes/webhook-routes.js';
import { findInboxEvent, type InboxRow, type InboxStatus } from '../../src/db/webhook-inbox.js';
import type { Pool } from '../../src/db/pool.js';
import { createLogger } from '../../src/logger.js';
import type { Metrics } from '../../src/metrics.js';
import type { StripeClient } from '../../src/stripe/stripe-client.js';
import { startInboxRelay, type InboxRelay, type InboxRelayOptions } from '../../src/webhooks/inbox-relay.js';
import { expect } from 'vitest';
import { eventually } from './eventually.js';
import { startFakeStripe, type EventObject, type FakeStripe } from './fake-stripe/index.js';
import { newId, unixSeconds } from './fake-stripe/ids.js';
import { ledgerOf, movementsOf, paymentSettles } from './payment-books.js';
import { newCustomer, newPaymentIntent, type Customer } from './payment-fixtures.js';
import { callApi, startTestApi, TEST_WEBHOOK_SECRET, type JsonResponse, type TestApi } from './test-api.js';
import { startTestWorkers, stripeClientFor, type RunningWorkers, type TestContext } from './test-context.js';
import type { PaymentWorkflowTuning } from '../../workflows/payment-workflow-input.js';

/**
 * Stripe webhooks for tests: deliveries signed by the real `stripe` SDK, events shaped like Stripe's own, and the
 * real API with the webhook route and inbox relay mounted. The event builders below record each event in the fake
 * (`fake.recordEvent`), as Stripe keeps every event it sends: the object a test delivers is the one
 * `GET /v1/events` lists, and a test that never delivers it plays an endpoint that was down.
 */

export interface SignOptions {
  secret?: string;
  /** Seconds since the epoch; default now. An old one is a replayed delivery. */
  timestamp?: number;
}

/** The `Stripe-Signature` header Stripe would send for this exact body. */
export const signPayload = (payload: string, opts: SignOptions = {}): string =>
  Stripe.webhooks.generateTestHeaderString({
    payload,
    secret: opts.secret ?? TEST_WEBHOOK_SECRET,
    ...(opts.timestamp !== undefined ? { timestamp: opts.timestamp } : {}),
  });

export interface DeliveryOptions extends SignOptions {
  /** Replaces the computed signature header (undefined value: no header at all). */
  signature?: string | null;
  contentType?: string;
}

/** POSTs a Stripe delivery to the API: the event (or a raw body) signed like Stripe signs it. */
export function deliver(apiUrl: string, event: object | string, opts: DeliveryOptions = {}): Promise<JsonResponse> {
  const payload = typeof event === 'string' ? event : JSON.stringify(event, null, 2);
  const signature = opts.signature === undefined ? signPayload(payload, opts) : opts.signature;
  return callApi(apiUrl, 'POST', '/webhooks/stripe', {
    rawBody: payload,
    headers: {
      ...(signature !== null ? { 'stripe-signature': signature } : {}),
      ...(opts.contentType ? { 'content-type': opts.contentType } : {}),
    },
  });
}

/** `payment_intent.*` with the PaymentIntent as Stripe holds it now. */
export function paymentIntentEvent(fake: FakeStripe, type: `payment_intent.${string}`, paymentIntentId: string): EventObject {
  const pi = fake.getPaymentIntent(paymentIntentId);
  if (!pi) throw new Error(`the fake has no ${paymentIntentId}`);
  return fake.recordEvent(type, pi);
}

/** `customer.subscription.*` with the subscription as Stripe holds it now (capture one, change the subscription: a stale event). */
export function subscriptionEvent(fake: FakeStripe, type: `customer.subscription.${string}`, subscriptionId: string): EventObject {
  const sub = fake.getSubscription(subscriptionId);
  if (!sub) throw new Error(`the fake has no ${subscriptionId}`);
  return fake.recordEvent(type, sub);
}

/** A Checkout Session in `payment` mode for a PaymentIntent, as Stripe's `checkout.session` object. */
export function checkoutSessionEvent(
  fake: FakeStripe,
  type: `checkout.session.${string}`,
  paymentIntentId: string | null,
  paymentStatus: 'paid' | 'unpaid' | 'no_payment_required',
): EventObject {
  const pi = paymentIntentId ? fake.getPaymentIntent(paymentIntentId) : undefined;
  const id = `cs_test_${newId('pi').slice(3)}`;
  return fake.recordEvent(type, {
    id,
    object: 'checkout.session',
    amount_subtotal: pi?.amount ?? 0,
    amount_total: pi?.amount ?? 0,
    client_reference_id: null,
    created: unixSeconds(),
    currency: pi?.currency ?? 'usd',
    customer: pi?.customer ?? null,
    expires_at: unixSeconds() + 86_400,
    livemode: false,
    metadata: {},
    mode: 'payment',
    payment_intent: paymentIntentId,
    payment_method_types: ['card'],
    payment_status: paymentStatus,
    status: 'complete',
    success_url: 'https://example.com/success',
    url: null,
  });
}

/** `charge.refunded` with the PaymentIntent's charge as Stripe returns it (amount_refunded, refunded). */
export async function chargeRefundedEvent(fake: FakeStripe, stripe: StripeClient, paymentIntentId: string): Promise<EventObject> {
  const chargeId = fake.getPaymentIntent(paymentIntentId)?.latest_charge;
  if (!chargeId) throw new Error(`${paymentIntentId} has no charge`);
  const { lastResponse: _response, ...charge } = await stripe.charges.retrieve(chargeId);
  return fake.recordEvent('charge.refunded', charge);
}

/** The real API with POST /webhooks/stripe mounted (as src/api/start-api.ts mounts it); see startTestRelay. */
export function startWebhookApi(
  ctx: TestContext,
  opts: { stripe: StripeClient; metrics?: Metrics; confirmWaitMs?: number; moneyPolicy?: MoneyPolicy },
): Promise<TestApi> {
  return startTestApi(ctx, {
    stripe: opts.stripe,
    ...(opts.moneyPolicy ? { moneyPolicy: opts.moneyPolicy } : {}),
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    ...(opts.confirmWaitMs !== undefined ? { confirmWaitMs: opts.confirmWaitMs } : {}),
    extraRoutes: (deps) => [webhookRoutes(deps)],
  });
}

/** An inbox relay for the API's schema and task queue, woken by its webhook route (as in src/api/start-api.ts). */
export function startTestRelay(ctx: TestContext, api: TestApi, overrides: Partial<InboxRelayOptions> = {}): InboxRelay {
  const relay = startInboxRelay({
    pool: ctx.pool,
    events: api.deps.payments,
    logger: createLogger({ level: 'silent' }),
    metrics: api.deps.metrics,
    pollIntervalMs: 500,
    backoff: { initialMs: 100, maxMs: 1_000 },
    ...overrides,
  });
  api.deps.onInboxRow = relay.wake;
  return relay;
}

/** Everything a webhook test drives: fake Stripe, real workers, the real API with the webhook route, a relay. */
export interface WebhookStack {
  fake: FakeStripe;
  workers: RunningWorkers;
  api: TestApi;
  /** Replaceable: a test may stop it (a crashed relay) and start another. */
  relay: InboxRelay;
  close(): Promise<void>;
}

export async function startWebhookStack(
  ctx: TestContext,
  opts: { tuning?: PaymentWorkflowTuning; relay?: Partial<InboxRelayOptions>; moneyPolicy?: MoneyPolicy } = {},
): Promise<WebhookStack> {
  const fake = await startFakeStripe();
  const policy = opts.moneyPolicy ? { moneyPolicy: opts.moneyPolicy } : {};
  const workers = await startTestWorkers(ctx, { stripe: stripeClientFor(fake.url), ...(opts.tuning ? { tuning: opts.tuning } : {}), ...policy });
  const api = await startWebhookApi(ctx, { stripe: stripeClientFor(fake.url), ...policy });
  const stack: WebhookStack = {
    fake,
    workers,
    api,
    relay: startTestRelay(ctx, api, opts.relay),
    async close() {
      await stack.relay.stop();
      await api.close();
      await workers.stop();
      await fake.close();
    },
  };
  return stack;
}

/** Waits until the event's inbox row reaches `status` (the event workflow wrote its outcome). */
export const inboxRowReaches = (pool: Pool, eventId: string, status: InboxStatus, timeoutMs = 30_000): Promise<InboxRow | null> =>
  eventually(() => findInboxEvent(pool, eventId), (row) => row?.status === status, { timeoutMs, description: `${eventId} ${status}` });

export async function workflowExists(client: Client, workflowId: string): Promise<boolean> {
  try {
    await client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

export async function inboxCount(pool: Pool, where = 'true', params: unknown[] = []): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM stripe_webhook_events WHERE ${where}`, params);
  return rows[0]!.n;
}

/** A payment credited by its webhook, refunded once (in Stripe before the webhook), each settled in the books. */
export async function creditedAndRefundedByWebhook(
  ctx: TestContext,
  stack: WebhookStack,
  amount: number,
  refund: number,
): Promise<{ c: Customer; pi: string; refundId: string }> {
  const c = await newCustomer(ctx, stack.fake);
  const pi = newPaymentIntent(stack.fake, c.customerId, { amount });
  const refundId = stack.fake.refundPaymentIntent(pi, refund).id;
  const event = paymentIntentEvent(stack.fake, 'payment_intent.succeeded', pi);
  expect((await deliver(stack.api.url, event)).status).toBe(200);
  await inboxRowReaches(ctx.pool, event.id, 'processed');
  await paymentSettles(ctx, pi);
  expect(movementsOf(await ledgerOf(ctx, pi))).toEqual([['payment_credit', amount], ['refund_debit', -refund]]);
  return { c, pi, refundId };
}
