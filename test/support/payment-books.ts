import { expect } from 'vitest';
import { WorkflowNotFoundError } from '@temporalio/common';
import { verifyLedger } from '../../src/db/ledger-verify.js';
import type { FakeStripe } from './fake-stripe/index.js';
import { eventually } from './eventually.js';
import { stripeClientFor, type TestContext } from './test-context.js';

/**
 * Both books of a PaymentIntent, read independently of payconfirm's code: the ledger rows in Postgres, the
 * mirror transactions in the fake Stripe, and Stripe's own net from its raw objects. What the books tests assert.
 */
export interface LedgerRow {
  id: string;
  kind: string;
  amount_minor: number;
  idempotency_key: string;
  account_id: string;
}

export async function ledgerOf(ctx: TestContext, pi: string): Promise<LedgerRow[]> {
  const { rows } = await ctx.pool.query<LedgerRow>(
    'SELECT id, kind, amount_minor, idempotency_key, account_id FROM ledger_entries WHERE payment_intent_id = $1 ORDER BY seq',
    [pi],
  );
  return rows;
}

/** The customer's balance transactions that name the PaymentIntent (Stripe's sign: a credit is negative). */
export const mirrorOf = (fake: FakeStripe, customerId: string, pi: string) =>
  fake.balanceTransactions(customerId).filter((t) => t.metadata?.payment_intent === pi);

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/**
 * Stripe's net for the PaymentIntent from its raw objects: amount received − refunds not failed or canceled + the
 * dispute balance transactions (a withdrawal is negative, a reinstatement positive).
 */
export async function stripeNetOf(fake: FakeStripe, pi: string): Promise<number> {
  const stripe = stripeClientFor(fake.url);
  const intent = fake.getPaymentIntent(pi);
  if (!intent || intent.status !== 'succeeded') return 0;
  const refunds = (await stripe.refunds.list({ payment_intent: pi, limit: 100 })).data;
  const disputes = (await stripe.disputes.list({ payment_intent: pi, limit: 100 })).data;
  const refunded = sum(refunds.filter((r) => r.status !== 'failed' && r.status !== 'canceled').map((r) => r.amount));
  const disputed = sum(disputes.flatMap((d) => d.balance_transactions.map((t) => t.amount)));
  return intent.amount_received - refunded + disputed;
}

/** Waits until the payment workflow of `pi` has no running run (every wake so far has converged). */
export async function paymentSettles(ctx: TestContext, pi: string): Promise<void> {
  await eventually(
    () =>
      ctx.client.workflow
        .getHandle(pi)
        .describe()
        .then((d) => d.status.name, (err: unknown) => (err instanceof WorkflowNotFoundError ? 'NONE' : Promise.reject(err))),
    (status) => status !== 'RUNNING',
    { description: `payment ${pi} settled` },
  );
}

/**
 * Invariant 7 for one PaymentIntent: ledger net = Stripe's net, mirror net = −ledger net (or no mirror at all),
 * exactly one mirror transaction per ledger movement, keyed by it; and invariant 1 over the whole ledger.
 */
export async function expectBooksFollowStripe(
  ctx: TestContext,
  fake: FakeStripe,
  pi: string,
  opts: { customerId: string; mirror?: 'on' | 'none' },
): Promise<{ ledger: LedgerRow[]; netMinor: number }> {
  const ledger = await ledgerOf(ctx, pi);
  const netMinor = sum(ledger.map((r) => r.amount_minor));
  expect(netMinor, `ledger net of ${pi} = Stripe's net`).toBe(await stripeNetOf(fake, pi));
  const mirror = mirrorOf(fake, opts.customerId, pi);
  if (opts.mirror === 'none') {
    expect(mirror, `no mirror transactions for ${pi}`).toEqual([]);
  } else {
    expect(sum(mirror.map((t) => t.amount)) + netMinor, `mirror net of ${pi} = −ledger net`).toBe(0);
    expect(mirror.map((t) => t.metadata.payconfirm_movement).sort(), `one mirror transaction per movement of ${pi}`).toEqual(
      ledger.map((r) => r.idempotency_key).sort(),
    );
  }
  expect((await verifyLedger(ctx.pool)).ok).toBe(true);
  return { ledger, netMinor };
}

/** A ledger row's shape for exact comparisons: kind and amount, in ledger order. */
export const movementsOf = (rows: LedgerRow[]) => rows.map((r) => [r.kind, r.amount_minor] as const);
