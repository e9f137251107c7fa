import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { createAccount } from '../src/db/accounts.js';
import { freePort } from '../src/dev/free-port.js';
import { adjustBalance } from '../src/db/admin-adjustments.js';
import { creditPayment } from '../src/db/ledger.js';
import { createLogger, scrubSecrets } from '../src/logger.js';
import { describeSmtpServer, formatMinor, receiptMessageId, startReceiptDeliverer } from '../src/notifications/email-receipts.js';
import { findReceipt } from '../src/notifications/receipt-outbox.js';
import { runPayconfirm } from './support/cli-process.js';
import { eventually } from './support/eventually.js';
import { startFakeStripe, type FakeStripe } from './support/fake-stripe/index.js';
import { startTestMailpit, type TestMailpit } from './support/mailpit.js';
import { paymentSettles } from './support/payment-books.js';
import { newCustomer, newPaymentIntent } from './support/payment-fixtures.js';
import { startSmtpGate } from './support/smtp-gate.js';
import { deliver, inboxRowReaches, paymentIntentEvent, startWebhookStack, type WebhookStack } from './support/stripe-webhooks.js';
import { createTestContext, uniqueSuffix, type TestContext } from './support/test-context.js';
import { startWorkerProcess, type WorkerProcess } from './support/worker-process.js';

/**
 * E-mail receipts: one per payment credit, written by the ledger trigger, sent through a real SMTP server (Mailpit,
 * built from its Go module) with a Message-ID derived from the movement key. At least once from payconfirm's side; the
 * receiving side drops a second copy by Message-ID (Mailpit's --ignore-duplicate-ids), proven across a real worker
 * process SIGKILLed between the SMTP server's 250 and the row's record — and shown to be the receiver's doing by the
 * same crash against a Mailpit without the flag, which then holds two.
 */
const FROM = 'Acme Billing <billing@acme.example>';
const DOMAIN = 'receipts.acme.example';

let dedupMailpit: TestMailpit;
let plainMailpit: TestMailpit;
let fake: FakeStripe;

beforeAll(async () => {
  [dedupMailpit, plainMailpit, fake] = await Promise.all([
    startTestMailpit({ ignoreDuplicateIds: true }),
    startTestMailpit({ ignoreDuplicateIds: false }),
    startFakeStripe(),
  ]);
});
afterAll(async () => {
  await Promise.allSettled([dedupMailpit?.stop(), plainMailpit?.stop(), fake?.close()]);
});

const email = (label: string) => `${label}-${uniqueSuffix()}@customer.example`;

describe('a receipt per payment credit', () => {
  let ctx: TestContext;
  let stack: WebhookStack;
  beforeAll(async () => {
    ctx = await createTestContext('receipts');
    stack = await startWebhookStack(ctx);
  });
  afterAll(async () => {
    await stack?.close();
    await ctx?.close();
  });

  it('reaches the SMTP server once with a Message-ID from the movement key and the amount with its currency; an account without an e-mail is skipped', async () => {
    const deliverer = startReceiptDeliverer({
      pool: ctx.pool,
      smtpUrl: dedupMailpit.smtpUrl,
      from: FROM,
      messageIdDomain: DOMAIN,
      logger: createLogger({ level: 'silent' }),
      timeoutMs: 5_000,
      pollIntervalMs: 50,
    });
    try {
      const withEmail = await newCustomer(ctx, stack.fake);
      const address = email('paid');
      // An operator gives the account its address (and a malformed one is refused, naming it).
      const cli = (args: string[]) => runPayconfirm(['accounts', ...args], { DATABASE_URL: ctx.databaseUrl, DATABASE_SCHEMA: ctx.schema });
      const [set, malformed] = await Promise.all([
        cli(['set-email', withEmail.accountId, address]),
        cli(['set-email', withEmail.accountId, 'Someone <a@b.example>']),
      ]);
      expect(set, set.stderr).toMatchObject({ code: 0, json: { account_id: withEmail.accountId, email: address } });
      expect(malformed.code).toBe(1);
      expect(malformed.stderr).toContain('is not an e-mail address');
      const without = await newCustomer(ctx, stack.fake);

      const paid = newPaymentIntent(stack.fake, withEmail.customerId, { amount: 123_456, currency: 'usd' });
      const unaddressed = newPaymentIntent(stack.fake, without.customerId, { amount: 700, currency: 'usd' });
      for (const pi of [paid, unaddressed]) {
        const event = paymentIntentEvent(stack.fake, 'payment_intent.succeeded', pi);
        expect((await deliver(stack.api.url, event)).status).toBe(200);
        await inboxRowReaches(ctx.pool, event.id, 'processed');
        await paymentSettles(ctx, pi);
      }

      const key = `stripe:payment_intent:${paid}`;
      const messageId = receiptMessageId(key, DOMAIN);
      expect(messageId).toMatch(new RegExp(`^<[0-9a-f]{32}@${DOMAIN.replace(/\./g, '\\.')}>$`));
      const sent = await eventually(() => findReceipt(ctx.pool, key), (r) => r?.status === 'sent', { description: `receipt ${key} sent` });
      expect(sent).toMatchObject({ recipient: address, attempts: 1, lastStatusCode: 250, lastError: null });

      const [message, ...others] = await dedupMailpit.withMessageId(messageId);
      expect(others).toEqual([]);
      expect(message!.To.map((t) => t.Address)).toEqual([address]);
      expect(message!.From).toEqual({ Name: 'Acme Billing', Address: 'billing@acme.example' });
      expect(message!.Subject).toBe('Receipt: 1,234.56 USD credited to your account');
      const body = await dedupMailpit.body(message!.ID);
      expect(body.Text).toContain('Amount:   1,234.56 USD');
      expect(body.Text).toContain(`Payment:  ${paid}`);

      // No address, no receipt: recorded as skipped (not failed), and nothing reached the server for it.
      const skipped = await findReceipt(ctx.pool, `stripe:payment_intent:${unaddressed}`);
      expect(skipped).toMatchObject({ status: 'skipped', recipient: null, attempts: 0, lastError: 'the account has no e-mail address' });
      expect((await dedupMailpit.messages()).filter((m) => m.Subject.includes('7.00 USD'))).toEqual([]);
      // Other movements get no receipt: only payment credits are in the e-mail outbox.
      await adjustBalance(ctx.pool, { accountId: withEmail.accountId, amountMinor: 300, currency: 'usd', reason: 'goodwill', key: `goodwill-${uniqueSuffix()}` });
      const { rows } = await ctx.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM outgoing_emails');
      expect(rows[0]!.n).toBe(2);
    } finally {
      await deliverer.stop();
    }
  });

  it('formats minor units with the currency\'s own digits; SMTP_URL needs RECEIPT_FROM and its password never reaches a log', () => {
    expect(formatMinor(2_500, 'usd')).toBe('25.00 USD');
    expect(formatMinor(5, 'eur')).toBe('0.05 EUR');
    expect(formatMinor(500, 'jpy')).toBe('500 JPY');
    expect(formatMinor(1_234_567, 'kwd')).toBe('1,234.567 KWD');
    expect(formatMinor(123_456_789, 'usd')).toBe('1,234,567.89 USD');
    expect(() => loadConfig({ SMTP_URL: 'smtp://127.0.0.1:1025' })).toThrow(ConfigError);
    expect(() => loadConfig({ SMTP_URL: 'http://mail.example', RECEIPT_FROM: 'a@b.example' })).toThrow(/SMTP_URL/);
    expect(describeSmtpServer('smtps://mailer:s3cret-pw@smtp.example:465')).toBe('smtps://smtp.example:465');
    expect(scrubSecrets('connect to smtp://mailer:s3cret-pw@smtp.example:587 failed')).not.toContain('s3cret-pw');
    expect(loadConfig({ SMTP_URL: 'smtp://u:p@127.0.0.1:1025', RECEIPT_FROM: FROM }).receipts).toMatchObject({ from: FROM, messageIdDomain: 'acme.example' });
  });
});

describe('operators: payconfirm receipts list, show and replay', () => {
  let ctx: TestContext;
  beforeAll(async () => {
    ctx = await createTestContext('receipts-cli');
  });
  afterAll(async () => {
    await ctx?.close();
  });
  const cli = (args: string[]) => runPayconfirm(['receipts', ...args], { DATABASE_URL: ctx.databaseUrl, DATABASE_SCHEMA: ctx.schema });
  const deliverer = (smtpUrl: string) =>
    startReceiptDeliverer({ pool: ctx.pool, smtpUrl, from: FROM, messageIdDomain: DOMAIN, logger: createLogger({ level: 'silent' }), timeoutMs: 2_000, pollIntervalMs: 50, retry: { maxAttempts: 1 } });

  it('a receipt dead while the SMTP server was down is listed, shown, replayed once fixed and sent under its Message-ID; a skipped one is not replayed', async () => {
    const addressed = await createAccount(ctx.pool, { stripeCustomerId: fake.createCustomer({}).id, name: 'Replay', email: email('replay') });
    const unaddressed = await createAccount(ctx.pool, { stripeCustomerId: fake.createCustomer({}).id, name: 'No address' });
    const paid = `pi_replay${uniqueSuffix()}`;
    const key = `stripe:payment_intent:${paid}`;
    const skippedKey = `stripe:payment_intent:pi_noaddr${uniqueSuffix()}`;

    // The SMTP server is down (nothing listens): with a budget of one attempt, the receipt is dead at once.
    const down = deliverer(`smtp://127.0.0.1:${await freePort()}`);
    try {
      await creditPayment(ctx.pool, { accountId: addressed.account.id, paymentIntentId: paid, amountMinor: 990, currency: 'usd' });
      await creditPayment(ctx.pool, { accountId: unaddressed.account.id, paymentIntentId: skippedKey.slice('stripe:payment_intent:'.length), amountMinor: 100, currency: 'usd' });
      await eventually(() => findReceipt(ctx.pool, key), (r) => r?.status === 'dead', { description: 'the receipt dead' });
    } finally {
      await down.stop();
    }

    // Reads, a dry run and two refusals, side by side (nothing here changes a row).
    const [dead, table, shown, shownJson, dryRun, skipped, typed] = await Promise.all([
      cli(['list', '--status', 'dead', '--json']),
      cli(['list']),
      cli(['show', key]),
      cli(['show', key, '--json']),
      cli(['replay', '--status', 'dead', '--dry-run', '--json']),
      cli(['replay', skippedKey]),
      cli(['list', '--type', 'payment.receipt']),
    ]);
    expect(dead, dead.stderr).toMatchObject({ code: 0 });
    expect(dead.json).toEqual([expect.objectContaining({ id: key, status: 'dead', attempts: 1, recipient: addressed.account.email })]);
    expect(table.stdout).toMatch(new RegExp(`${key}\\s+${addressed.account.email}\\s+dead\\s+1\\s`));
    expect(table.stdout).toContain('2 receipt(s).');
    expect(shown.stdout).toContain(`to         ${addressed.account.email}`);
    expect(shown.stdout).toMatch(/attempts   1; last \S+: .+/);
    expect(shownJson.json).toMatchObject({ id: key, status: 'dead', payload: { amount_minor: 990, currency: 'usd', payment_intent_id: paid } });
    expect(dryRun.json).toEqual({ dry_run: true, ids: [key] });
    expect(skipped.code, 'a skipped receipt is not replayed').toBe(4);
    expect(skipped.stdout).toContain('skipped: the account had no e-mail address');
    expect(typed.code, '--type is the notifications\' filter').toBe(1);
    expect(await findReceipt(ctx.pool, key)).toMatchObject({ status: 'dead' });

    const replayed = await cli(['replay', '--status', 'dead', '--json']);
    expect(replayed.json).toMatchObject({ replayed: 1, skipped: 0, outcomes: [{ id: key, result: 'replayed', was: 'dead' }] });
    expect(await findReceipt(ctx.pool, key)).toMatchObject({ status: 'pending', attempts: 0 });
    // The server is back: the deliverer sends it, once, under the Message-ID every attempt carries.
    const up = deliverer(dedupMailpit.smtpUrl);
    try {
      await eventually(() => findReceipt(ctx.pool, key), (r) => r?.status === 'sent', { description: 'the replayed receipt sent' });
    } finally {
      await up.stop();
    }
    expect(await dedupMailpit.withMessageId(receiptMessageId(key, DOMAIN))).toHaveLength(1);
    expect((await cli(['replay', '--status', 'dead', '--json'])).json).toMatchObject({ replayed: 0, skipped: 0 });
  });
});

/**
 * The crash: a real worker process sends the receipt; the SMTP server stores it and answers 250 (held back by a
 * proxy until the test has locked the row); the worker gets the 250 and blocks on recording it; it is SIGKILLed and
 * its record never lands. Another worker sends the receipt again — same Message-ID.
 */
async function crashBetweenSendAndRecord(mailpit: TestMailpit, label: string) {
  const ctx = await createTestContext(label);
  const gate = await startSmtpGate(mailpit.smtpUrl);
  const workers: WorkerProcess[] = [];
  const startWorker = async () => {
    const w = await startWorkerProcess(ctx, {
      stripeApiBase: fake.url,
      env: {
        SMTP_URL: gate.url,
        RECEIPT_FROM: FROM,
        RECEIPT_MESSAGE_ID_DOMAIN: DOMAIN,
        SMTP_TIMEOUT_MS: '5000',
        RECONCILE_INTERVAL: 'off',
        STRIPE_EVENT_BACKFILL_INTERVAL_MINUTES: '0',
      },
    });
    workers.push(w);
    return w;
  };
  try {
    const customer = fake.createCustomer({});
    const { account } = await createAccount(ctx.pool, { stripeCustomerId: customer.id, name: 'Crash Test', email: email('crash') });
    const paymentIntentId = `pi_crash${uniqueSuffix()}`;
    const key = `stripe:payment_intent:${paymentIntentId}`;
    const messageId = receiptMessageId(key, DOMAIN);

    gate.holdNextAnswer();
    const first = await startWorker();
    await creditPayment(ctx.pool, { accountId: account.id, paymentIntentId, amountMinor: 4_200, currency: 'eur' });

    // The SMTP server has the receipt; the worker has not heard its 250 yet.
    await eventually(async () => (await mailpit.withMessageId(messageId)).length, (n) => n === 1, { description: 'Mailpit stores the receipt' });
    await eventually(async () => gate.holding(), Boolean, { description: 'the 250 held at the gate' });

    const lock = await ctx.pool.connect();
    try {
      await lock.query('BEGIN');
      const { rows } = await lock.query<{ status: string; attempts: number; lease_token: string | null; pid: number }>(
        'SELECT status, attempts, lease_token, pg_backend_pid() AS pid FROM outgoing_emails WHERE id = $1 FOR UPDATE',
        [key],
      );
      expect(rows[0]).toMatchObject({ status: 'pending', attempts: 0 });
      expect(rows[0]!.lease_token, 'claimed by the worker').not.toBeNull();
      const lockPid = rows[0]!.pid;

      gate.release();
      // The worker got its 250 and now waits to record it, behind the test's row lock.
      const blocked = await eventually(
        async () => (await ctx.pool.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [lockPid])).rows,
        (r) => r.length === 1,
        { description: "the worker's record waiting on the row lock" },
      );
      await first.kill();
      // Its connection dies with it: the record it was sending never lands.
      await ctx.pool.query('SELECT pg_terminate_backend($1)', [blocked[0]!.pid]);
      await eventually(
        async () => (await ctx.pool.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [blocked[0]!.pid])).rowCount,
        (n) => n === 0,
        { description: 'the dead worker\'s connection gone' },
      );
    } finally {
      await lock.query('ROLLBACK');
      lock.release();
    }
    expect(await findReceipt(ctx.pool, key)).toMatchObject({ status: 'pending', attempts: 0 });
    // The dead worker's lease (60 s) runs out — here at once, rather than waiting for the clock.
    await ctx.pool.query('UPDATE outgoing_emails SET lease_until = now() WHERE id = $1', [key]);

    await startWorker();
    const sent = await eventually(() => findReceipt(ctx.pool, key), (r) => r?.status === 'sent', { timeoutMs: 60_000, description: 'the receipt sent by the second worker' });
    return { sent, sentThroughGate: gate.messagesSent(), stored: await mailpit.withMessageId(messageId), stats: await mailpit.smtpStats() };
  } finally {
    await Promise.allSettled(workers.map((w) => w.stop()));
    await gate.close();
    await ctx.close();
  }
}

describe('a worker crash between the SMTP send and the record', () => {
  it('the SMTP server holds the receipt once: payconfirm sent it twice, Mailpit dropped the copy by Message-ID', async () => {
    const before = await dedupMailpit.smtpStats();
    const { sent, sentThroughGate, stored, stats } = await crashBetweenSendAndRecord(dedupMailpit, 'receipts-crash');
    expect(sentThroughGate, 'payconfirm sent the receipt twice').toBe(2);
    expect(stored).toHaveLength(1);
    expect(stats.accepted - before.accepted).toBe(1);
    expect(stats.ignored - before.ignored, 'the second copy ignored by Message-ID').toBe(1);
    // The first attempt was never recorded: the row counts the one that was.
    expect(sent).toMatchObject({ status: 'sent', attempts: 1, lastStatusCode: 250 });
  }, 240_000);

  it('the deduplication is the receiver\'s: the same crash against an SMTP server without it leaves two copies', async () => {
    const before = await plainMailpit.smtpStats();
    const { sentThroughGate, stored, stats } = await crashBetweenSendAndRecord(plainMailpit, 'receipts-crash-plain');
    expect(sentThroughGate).toBe(2);
    expect(stored).toHaveLength(2);
    expect(new Set(stored.map((m) => m.MessageID)).size).toBe(1);
    expect(stats.accepted - before.accepted).toBe(2);
    expect(stats.ignored - before.ignored).toBe(0);
  }, 240_000);
});
