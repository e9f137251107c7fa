import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStripeBooksSync, MAX_KEY_GENERATIONS } from '../activities/stripe-books-sync.js';
import { verifyLedger } from '../src/db/ledger-verify.js';
import { applyMovements, loadPaymentBooks } from '../src/db/payment-books.js';
import { attentionReasonForFailure, FAILURE_TYPES } from '../src/domain/failure-types.js';
import type { StripeClient } from '../src/stripe/stripe-client.js';
import { startOrAttachPayment } from '../src/temporal/payment-workflow-client.js';
import { startFakeStripe, waitUntil, type FakeStripe, type FaultHandle, type RequestLogEntry } from './support/fake-stripe/index.js';
import { moneyFor, newCustomer, newPaymentIntent, type Customer } from './support/payment-fixtures.js';
import { balanceTransactionsPath, paymentIntentPath, paymentStarter } from './support/payment-probes.js';
import { createTestContext, startTestWorkers, stripeClientFor, type RunningWorkers, type TestContext } from './support/test-context.js';

let ctx: TestContext;
let fake: FakeStripe;
let workers: RunningWorkers;
/** The workers' Stripe client, by default straight to the fake; a test may put a front in between. */
let stripeBase: string;

beforeAll(async () => {
  ctx = await createTestContext('stripe-faults');
  fake = await startFakeStripe();
  stripeBase = fake.url;
  // The workers' Stripe client follows `stripeBase`, so one test can put a front before the fake.
  workers = await startTestWorkers(ctx, { stripe: routedStripe() });
});
afterAll(async () => {
  await workers?.stop();
  await fake?.close();
  await ctx?.close();
});

/**
 * The real SDK, with its base URL read at each call. A long request timeout: a request the fake holds may
 * outlive a terminated run's activity on purpose.
 */
function routedStripe(): StripeClient {
  const clients = new Map<string, StripeClient>();
  const current = () => {
    if (!clients.has(stripeBase)) clients.set(stripeBase, stripeClientFor(stripeBase, fake.apiKey, 20_000));
    return clients.get(stripeBase)!;
  };
  return new Proxy({} as StripeClient, { get: (_t, prop) => Reflect.get(current(), prop) });
}

async function newPayment(amount: number): Promise<{ c: Customer; pi: string }> {
  const c = await newCustomer(ctx, fake);
  return { c, pi: newPaymentIntent(fake, c.customerId, { amount }) };
}

/** Runs the payment workflow to its end and checks: credited, one ledger credit, one Stripe balance transaction. */
async function creditOnce(c: Customer, pi: string, amount: number) {
  const outcome = await (await startOrAttachPayment(paymentStarter(ctx), pi, 'stripe faults test')).result();
  expect(outcome).toMatchObject({ status: 'credited', paymentIntentId: pi, accountId: c.accountId, amountMinor: amount });
  const money = await moneyFor(ctx, fake, pi, c.customerId);
  expect(money.ledgerCredits).toHaveLength(1);
  expect(money.stripeCredits).toHaveLength(1);
  expect(money.stripeCredits[0]).toMatchObject({ amount: -amount, currency: 'usd' });
  const tx = money.stripeCredits[0]!;
  expect(outcome).toMatchObject({ balanceTransactionId: tx.id, ledgerEntryId: money.ledgerCredits[0]!.id });
  expect(money.paymentIntent?.metadata).toMatchObject({ payconfirm_credited: 'true', payconfirm_balance_transaction_id: tx.id, payconfirm_ledger_entry_id: money.ledgerCredits[0]!.id });
  return { outcome, tx };
}

/** [status, replayed, idempotency key] of each request, in arrival order. */
const trace = (entries: RequestLogEntry[]) => entries.map((r) => [r.status, r.replayed, r.idempotencyKey ?? null]);

/** Requests Stripe executed rather than replayed or refused: at most one per Idempotency-Key. */
const executed = (entries: RequestLogEntry[]) => entries.filter((r) => !r.replayed && (r.status === 200 || r.fault === 'lost_response'));

describe('lost responses (the write is applied, the answer never arrives)', () => {
  it('every Stripe call answered once with a lost response: the SDK resend gets the replay — one transaction, one mark', async () => {
    const { c, pi } = await newPayment(3_100);
    const [readPi, lookup, postTx, mark] = lostResponses(c.customerId, pi, 1);
    await creditOnce(c, pi, 3_100);

    for (const rule of [readPi!, postTx!, mark!]) expect(rule.hits, JSON.stringify(rule.rule)).toBe(1);
    // This run wrote the credit's ledger row and the SDK's resend got the replay: no lookup was ever needed.
    expect(lookup!.hits).toBe(0);
    expect(trace(fake.requestsTo('POST', balanceTransactionsPath(c.customerId)))).toEqual([
      [null, false, `credit-tx:${pi}`],
      [200, true, `credit-tx:${pi}`],
    ]);
    expect(trace(fake.requestsTo('POST', paymentIntentPath(pi)))).toEqual([
      [null, false, `credit-mark:${pi}`],
      [200, true, `credit-mark:${pi}`],
    ]);
    expect(executed(fake.requestsTo('POST', paymentIntentPath(pi)))).toHaveLength(1);
  });

  it('every Stripe call loses its response twice (the SDK resend too): the activity retries — the lookup finds the transaction, the read finds the mark', async () => {
    const { c, pi } = await newPayment(3_200);
    const rules = lostResponses(c.customerId, pi, 2);
    await creditOnce(c, pi, 3_200);

    for (const rule of rules) expect(rule.hits, JSON.stringify(rule.rule)).toBe(2);
    // Executed once, replayed (and lost) once; the retried activity's lookup found it, so it never POSTed again.
    expect(trace(fake.requestsTo('POST', balanceTransactionsPath(c.customerId)))).toEqual([
      [null, false, `credit-tx:${pi}`],
      [null, true, `credit-tx:${pi}`],
    ]);
    // The mark likewise; the retried pass's read of the PaymentIntent shows it, so it is not posted again.
    expect(trace(fake.requestsTo('POST', paymentIntentPath(pi)))).toEqual([
      [null, false, `credit-mark:${pi}`],
      [null, true, `credit-mark:${pi}`],
    ]);
    expect(executed(fake.requestsTo('POST', paymentIntentPath(pi)))).toHaveLength(1);
  });
});

describe('a 500 on the balance-transaction POST, replayed by Stripe under that key', () => {
  it('the 500 applied the write: the retried activity finds the transaction by lookup and posts nothing more', async () => {
    const { c, pi } = await newPayment(4_100);
    const fault = fake.faults.add({ kind: 'error', applied: true, status: 500, method: 'POST', path: balanceTransactionsPath(c.customerId) });
    const { tx } = await creditOnce(c, pi, 4_100);

    expect(fault.hits).toBe(1);
    expect(trace(fake.requestsTo('POST', balanceTransactionsPath(c.customerId)))).toEqual([[500, false, `credit-tx:${pi}`]]);
    expect(tx.metadata).toMatchObject({ payment_intent: pi });
  });

  it('the 500 applied the write, and a concurrent attempt whose lookup ran before it gets the replay: it looks again, no second transaction', async () => {
    const { c, pi } = await newPayment(4_200);
    const btx = balanceTransactionsPath(c.customerId);
    // An earlier run credited the ledger and stopped: run 1 did not write that row, so it looks before it posts.
    await applyMovements(ctx.pool, c.accountId, [
      { key: `stripe:payment_intent:${pi}`, kind: 'payment_credit', paymentIntentId: pi, amountMinor: 4_200, currency: 'usd', stripeObjectId: pi },
    ]);
    // Run 1's lookup is answered "none" — computed now, delivered only when released.
    const staleLookup = fake.faults.add({ kind: 'timeout', applied: true, method: 'GET', path: btx });
    const run1 = await startOrAttachPayment(paymentStarter(ctx), pi, 'stale lookup run');
    await waitUntil(() => staleLookup.held === 1, { timeoutMs: 10_000, description: 'run 1 lookup held' });
    // Run 1 ends (its activity keeps running in the worker, as after a network partition or a terminate);
    // run 2 posts under the key, Stripe applies the write and stores a 500.
    await run1.terminate('test: a second run overtakes the first');
    fake.faults.add({ kind: 'error', applied: true, status: 500, method: 'POST', path: btx });
    const { tx } = await creditOnce(c, pi, 4_200);

    // Now run 1's activity gets its stale "none", posts under the key and is answered with the replayed 500.
    staleLookup.release();
    await waitUntil(() => fake.requestsTo('POST', btx).some((r) => r.replayed && r.status === 500), { timeoutMs: 10_000, description: 'replayed 500' });
    const toCustomer = () => fake.requests.filter((r) => btx.test(r.path));
    const replayAt = toCustomer().findIndex((r) => r.replayed);
    await waitUntil(() => toCustomer().slice(replayAt + 1).some((r) => r.status !== null), {
      timeoutMs: 10_000,
      description: 'run 1 activity went on after the replay',
    });

    expect(fake.balanceTransactions(c.customerId).map((t) => t.id)).toEqual([tx.id]);
    expect(fake.requestsTo('POST', btx).map((r) => r.idempotencyKey)).toEqual([`credit-tx:${pi}`, `credit-tx:${pi}`]);
  });

  it('the 500 did not apply but was stored: the replay, then an empty lookup, move to the next key generation — one transaction', async () => {
    const { c, pi } = await newPayment(4_300);
    const front = await startStoredErrorFront(fake, `credit-tx:${pi}`);
    stripeBase = front.url;
    try {
      const { tx } = await creditOnce(c, pi, 4_300);
      expect(front.answered).toEqual([
        { key: `credit-tx:${pi}`, replayed: false },
        { key: `credit-tx:${pi}`, replayed: true },
      ]);
      expect(trace(fake.requestsTo('POST', balanceTransactionsPath(c.customerId)))).toEqual([[200, false, `credit-tx:${pi}:g1`]]);
      expect(tx.metadata).toMatchObject({ payment_intent: pi });
    } finally {
      stripeBase = fake.url;
      await front.close();
    }
  });
});

describe('a run of stored 500s that applied nothing (a Stripe blip)', () => {
  it('each attempt spends at most one new key generation; when all are spent the failure has its own operator reason', async () => {
    const { c, pi } = await newPayment(4_500);
    const base = `credit-tx:${pi}`;
    const front = await startStoredErrorFront(fake, (key) => key === base || key.startsWith(`${base}:g`));
    try {
      await applyMovements(ctx.pool, c.accountId, [
        { key: `stripe:payment_intent:${pi}`, kind: 'payment_credit', paymentIntentId: pi, amountMinor: 4_500, currency: 'usd', stripeObjectId: pi },
      ]);
      const movements = (await loadPaymentBooks(ctx.pool, pi)).movements;
      const stripeBooks = createStripeBooksSync({ stripe: stripeClientFor(front.url), pool: ctx.pool });
      const sync = () => stripeBooks.syncStripeBooks({ paymentIntentId: pi, mirror: { customerId: c.customerId, movements, createdNow: [] }, mark: null });

      // Each call stands for one activity attempt (Temporal backs off between them).
      for (let attempt = 1; attempt <= MAX_KEY_GENERATIONS; attempt++) {
        await expect(sync()).rejects.toMatchObject({ type: 'StripeUnavailable', nonRetryable: false });
        // Every earlier generation was replayed (and a lookup proved it applied nothing); one new one was spent.
        expect(front.answered.filter((a) => !a.replayed).map((a) => a.key), `attempt ${attempt}`).toEqual(
          Array.from({ length: attempt }, (_, g) => (g === 0 ? base : `${base}:g${g}`)),
        );
      }
      const exhausted = await sync().then(() => null, (err: unknown) => err);
      expect(exhausted).toMatchObject({ type: FAILURE_TYPES.stripeKeyGenerationsExhausted, nonRetryable: true });
      expect(attentionReasonForFailure(FAILURE_TYPES.stripeKeyGenerationsExhausted)).toBe('stripe_key_generations_exhausted');
      expect(fake.balanceTransactions(c.customerId)).toEqual([]);
      expect((await loadPaymentBooks(ctx.pool, pi)).movements[0]?.balanceTransactionId).toBeNull();
    } finally {
      await front.close();
    }
  });
});

describe('a 500 on the mark, replayed by Stripe under that key', () => {
  it('the 500 applied the mark: the retried pass reads the mark on the PaymentIntent and posts nothing more (no next key generation)', async () => {
    const { c, pi } = await newPayment(4_400);
    fake.faults.add({ kind: 'error', applied: true, status: 500, method: 'POST', path: paymentIntentPath(pi) });
    await creditOnce(c, pi, 4_400);
    expect(trace(fake.requestsTo('POST', paymentIntentPath(pi)))).toEqual([[500, false, `credit-mark:${pi}`]]);
    expect(fake.requestsTo('GET', paymentIntentPath(pi)).map((r) => r.status)).toEqual([200, 200]);
  });
});

it('leaves the ledger consistent (invariants 1 and 2)', async () => {
  expect(await verifyLedger(ctx.pool)).toMatchObject({ ok: true });
});

/** A lost response on each Stripe endpoint the payment calls, `times` requests each. */
function lostResponses(customerId: string, pi: string, times: number): FaultHandle[] {
  return [
    { method: 'GET' as const, path: paymentIntentPath(pi) },
    { method: 'GET' as const, path: balanceTransactionsPath(customerId) },
    { method: 'POST' as const, path: balanceTransactionsPath(customerId) },
    { method: 'POST' as const, path: paymentIntentPath(pi) },
  ].map((where) => fake.faults.add({ kind: 'lost_response', times, ...where }));
}

/**
 * Real Stripe stores a 500 once execution began — also when it failed before writing anything — and replays
 * it under that key. The fake stores only 500s that applied, so this front stands in for Stripe on one key:
 * it answers that key's POSTs with a stored 500 (replayed from the second on) and forwards everything else.
 */
async function startStoredErrorFront(target: FakeStripe, spent: string | ((key: string) => boolean)) {
  const isSpent = typeof spent === 'string' ? (key: string) => key === spent : spent;
  const answered: Array<{ key: string; replayed: boolean }> = [];
  const storedBodies = new Map<string, string>();
  const server = createServer((req, res) => void handle(req, res));
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString();
    const key = req.headers['idempotency-key'];
    if (req.method === 'POST' && typeof key === 'string' && isSpent(key)) {
      const storedBody = storedBodies.get(key);
      const replayed = storedBody !== undefined;
      if (replayed && body !== storedBody) throw new Error('the same Idempotency-Key was sent with other parameters');
      storedBodies.set(key, body);
      answered.push({ key, replayed });
      res.writeHead(500, {
        'content-type': 'application/json',
        'request-id': 'req_front_stored_500',
        'idempotency-key': key,
        ...(replayed ? { 'idempotent-replayed': 'true', 'original-request': 'req_front_stored_500' } : {}),
      });
      res.end(JSON.stringify({ error: { type: 'api_error', message: 'An unknown error occurred while processing your request.' } }));
      return;
    }
    const forwarded = await fetch(target.url + req.url, {
      method: req.method!,
      headers: Object.fromEntries(Object.entries(req.headers).filter(([k]) => !['host', 'connection', 'content-length'].includes(k))) as Record<string, string>,
      ...(req.method === 'POST' ? { body } : {}),
    });
    res.writeHead(forwarded.status, Object.fromEntries([...forwarded.headers].filter(([k]) => !['connection', 'content-length', 'transfer-encoding', 'keep-alive'].includes(k))));
    res.end(await forwarded.text());
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    answered,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}
