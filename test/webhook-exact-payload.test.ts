import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonbCanHold, jsonbColumns, jsonbStandIn, storedJson } from '../src/db/jsonb-storable.js';
import { findInboxPayload } from '../src/db/webhook-inbox.js';
import { STRIPE_EVENT_BACKFILL_WORKFLOW_TYPE } from '../src/webhooks/stripe-event-backfill-schedule.js';
import type { StripeEventBackfillInput, StripeEventBackfillResult } from '../workflows/stripe-event-backfill-workflow.js';
import { eventually } from './support/eventually.js';
import { CREDIT_PURCHASE_METADATA, moneyFor, newCustomer, newPaymentIntent } from './support/payment-fixtures.js';
import { deliver, inboxRowReaches, paymentIntentEvent, startWebhookStack, type WebhookStack } from './support/stripe-webhooks.js';
import { createTestContext, uniqueSuffix, type TestContext } from './support/test-context.js';

/**
 * Any valid signed JSON is acknowledged and processed (issue 19): a string holding U+0000 (`\u0000`) or an unpaired
 * surrogate (`\ud800`) is valid JSON that Postgres `jsonb` refuses. Such an event — a webhook delivery, or one the
 * backfill finds in GET /v1/events — is answered 2xx, kept exactly (payload_exact, migration 15) and its payment
 * credited. Real Temporal, real Postgres, payconfirm's workers, API and relay; the fake Stripe.
 */

const UNSTORABLE = { nul: 'gift card \u0000 code', loneSurrogate: 'half an emoji \ud800' } as const;

describe('what jsonb cannot hold (src/db/jsonb-storable.ts), checked against the real Postgres', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext('jsonb-storable');
  });
  afterAll(() => ctx?.close());

  const cases: [string, unknown][] = [
    ['plain ASCII', { a: 'b', n: [1, 2.5, null, true] }],
    ['a surrogate pair (an emoji)', { note: 'pay \ud83d\ude00' }],
    ['U+0000 in a value', { note: UNSTORABLE.nul }],
    ['U+0000 in a key', { ['k\u0000']: 1 }],
    ['a lone high surrogate', [UNSTORABLE.loneSurrogate]],
    ['a lone low surrogate', { deep: { deeper: ['\udc00'] } }],
    ['a pair written backwards', '\udc00\ud800'],
    ['a backslash then u0000 (no escape: an escaped backslash)', { note: '\\u0000' }],
  ];

  it.each(cases)('%s: jsonbCanHold agrees with Postgres', async (_label, value) => {
    const text = JSON.stringify(value);
    const postgres = await ctx.pool.query('SELECT $1::jsonb AS v', [text]).then(() => true, () => false);
    expect(jsonbCanHold(value)).toBe(postgres);
    const { jsonb, exact } = jsonbColumns(text);
    expect(exact).toBe(postgres ? null : text);
    // What is stored always goes in, and reads back as the value exactly.
    const { rows } = await ctx.pool.query<{ v: unknown; t: string | null }>('SELECT $1::jsonb AS v, $2::text AS t', [jsonb, exact]);
    expect(storedJson(rows[0]!.v, rows[0]!.t)).toEqual(value);
  });

  it('the stand-in replaces only what jsonb refuses, with U+FFFD', () => {
    expect(jsonbStandIn({ ['k\u0000']: ['a\u0000b', 'x\ud800', 'ok \ud83d\ude00', 7] })).toEqual({ 'k\ufffd': ['a\ufffdb', 'x\ufffd', 'ok \ud83d\ude00', 7] });
  });
});

describe('a signed event jsonb cannot hold (real stack)', () => {
  let ctx: TestContext;
  let stack: WebhookStack;
  beforeAll(async () => {
    ctx = await createTestContext('webhook-exact-payload');
    stack = await startWebhookStack(ctx);
  });
  afterAll(async () => {
    await stack?.close();
    await ctx?.close();
  });

  const credited = (pi: string, customerId: string) =>
    eventually(() => moneyFor(ctx, stack.fake, pi, customerId), (m) => m.ledgerCredits.length === 1 && m.stripeCredits.length === 1, {
      description: `${pi} credited and mirrored`,
    });
  const exactOf = async (eventId: string) =>
    (await ctx.pool.query<{ payload_exact: string | null }>('SELECT payload_exact FROM stripe_webhook_events WHERE event_id = $1', [eventId])).rows[0]?.payload_exact;

  it.each(Object.entries(UNSTORABLE))('a delivery holding %s → 200, kept exactly, credited once; a redelivery is a duplicate', async (_kind, note) => {
    const c = await newCustomer(ctx, stack.fake);
    const pi = newPaymentIntent(stack.fake, c.customerId, { amount: 4_100, metadata: { ...CREDIT_PURCHASE_METADATA, note } });
    const event = paymentIntentEvent(stack.fake, 'payment_intent.succeeded', pi);
    const body = JSON.stringify(event);
    expect(body).toMatch(/\\u0000|\\ud800/);

    const first = await deliver(stack.api.url, body);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toEqual({ received: true });
    await inboxRowReaches(ctx.pool, event.id, 'processed');
    await credited(pi, c.customerId);
    expect(await exactOf(event.id), 'the body as received, escapes and all').toBe(body);
    expect((await findInboxPayload(ctx.pool, event.id))!.payload).toEqual(event);

    expect((await deliver(stack.api.url, body)).body).toEqual({ received: true, duplicate: true });
    expect((await moneyFor(ctx, stack.fake, pi, c.customerId)).ledgerCredits).toHaveLength(1);
  });

  it('the backfill finds such an event (never delivered) in GET /v1/events: inserted, dispatched, credited', async () => {
    const c = await newCustomer(ctx, stack.fake);
    const pi = newPaymentIntent(stack.fake, c.customerId, { amount: 5_200, metadata: { ...CREDIT_PURCHASE_METADATA, note: UNSTORABLE.nul } });
    const missed = paymentIntentEvent(stack.fake, 'payment_intent.succeeded', pi);

    const result = await ctx.client.workflow.execute(STRIPE_EVENT_BACKFILL_WORKFLOW_TYPE, {
      taskQueue: ctx.taskQueue,
      workflowId: `stripe-event-backfill-exact-${uniqueSuffix()}`,
      args: [{ lookbackDays: 3 } satisfies Partial<StripeEventBackfillInput>],
    }) as StripeEventBackfillResult;
    expect(result).toMatchObject({ inserted: 1, malformed: 0 });
    await inboxRowReaches(ctx.pool, missed.id, 'processed');
    await credited(pi, c.customerId);
    expect(JSON.parse((await exactOf(missed.id))!)).toEqual(missed);
  });
});
