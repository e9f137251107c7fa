import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateUp } from '../src/db/migrate.js';
import { inTransaction, quoteIdent } from '../src/db/pool.js';
import { freePort } from '../src/dev/free-port.js';
import { queryPaymentState } from '../src/temporal/payment-operations.js';
import { runPayconfirm, type CliRun } from './support/cli-process.js';
import { eventually } from './support/eventually.js';
import { type FakeStripe } from './support/fake-stripe/index.js';
import { outcomeOf, startPayment, terminateRunning, waitForAttention } from './support/operator-fixtures.js';
import { moneyFor, newCustomer, newPaymentIntent } from './support/payment-fixtures.js';
import { callApi, type TestApi } from './support/test-api.js';
import { startPaymentStack, type PaymentStack } from './support/payment-stack.js';
import { uniqueSuffix, type TestContext } from './support/test-context.js';

let stack: PaymentStack;
let ctx: TestContext;
let fake: FakeStripe;
let api: TestApi;
const extraSchemas: string[] = [];

beforeAll(async () => {
  stack = await startPaymentStack('cli', { confirmWaitMs: 4_000 });
  ({ ctx, fake, api } = stack);
});
afterAll(async () => {
  if (ctx) await terminateRunning(ctx);
  for (const schema of extraSchemas) await ctx.pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`).catch(() => {});
  await stack?.close();
});

/** Runs `payconfirm …` as a real subprocess against this file's Postgres schema, Temporal task queue and API. */
const payconfirm = (args: string[], env: Record<string, string | undefined> = {}): Promise<CliRun> =>
  runPayconfirm(args, {
    DATABASE_URL: ctx.databaseUrl,
    DATABASE_SCHEMA: ctx.schema,
    TEMPORAL_ADDRESS: ctx.temporalAddress,
    TEMPORAL_TASK_QUEUE: ctx.taskQueue,
    PAYCONFIRM_API_URL: api.url,
    ...env,
  });

describe('payconfirm CLI (subprocess, real Postgres, Temporal, API, fake Stripe)', () => {
  it('prints usage with --help (exit 0); an unknown command or option exits 1 with one clear line', async () => {
    const [help, unknown, badOption, groupHelp] = await Promise.all([
      payconfirm(['--help']),
      payconfirm(['frobnicate']),
      payconfirm(['ledger', 'verify', '--bogus']),
      payconfirm(['payments', '--help']),
    ]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: payconfirm <command>/);
    for (const command of ['accounts create', 'confirm pi_', 'debit --amount', 'refund pi_', 'payments stuck', 'payments retry|resolve|reject|skip-mirror', 'events list|show', 'ledger verify', 'ledger adjust', 'reconcile', 'db migrate', 'temporal setup']) {
      expect(help.stdout).toContain(command);
    }
    expect(unknown).toMatchObject({ code: 1, stdout: '' });
    expect(unknown.stderr).toContain('payconfirm: unknown command: frobnicate');
    expect(badOption.code).toBe(1);
    expect(badOption.stderr).toContain("Unknown option '--bogus'");
    expect(groupHelp.code).toBe(0);
    expect(groupHelp.stdout).toContain('PaymentStage="needs_attention"');
  });

  it('accounts create prints account_id and a working api_key once; a second account for the customer is refused (exit 4)', async () => {
    const customer = fake.createCustomer();
    const created = await payconfirm(['accounts', 'create', '--stripe-customer', customer.id, '--name', 'Acme GmbH']);
    expect(created.code).toBe(0);
    expect(created.json).toMatchObject({ stripe_customer_id: customer.id, name: 'Acme GmbH' });
    expect(created.json.account_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.json.api_key).toMatch(/^pcf_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toMatch(/Store the api_key now/);
    const balance = await callApi(api.url, 'GET', '/accounts/me/balance', { apiKey: created.json.api_key });
    expect(balance).toMatchObject({ status: 200, body: { account_id: created.json.account_id } });

    const again = await payconfirm(['accounts', 'create', '--stripe-customer', customer.id]);
    expect(again.code).toBe(4);
    expect(again.stderr).toContain(`an account for Stripe customer ${customer.id} already exists`);
    const { rows } = await ctx.pool.query('SELECT id FROM accounts WHERE stripe_customer_id = $1', [customer.id]);
    expect(rows).toEqual([{ id: created.json.account_id }]);
  });

  it('accounts create: missing or malformed input and missing DATABASE_URL exit 1 naming the problem', async () => {
    const [missing, malformed, noDb] = await Promise.all([
      payconfirm(['accounts', 'create']),
      payconfirm(['accounts', 'create', '--stripe-customer', 'acct_123']),
      payconfirm(['accounts', 'create', '--stripe-customer', 'cus_123'], { DATABASE_URL: undefined, STRIPE_SECRET_KEY: undefined }),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('--stripe-customer cus_… is required');
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toContain('"acct_123" is not a Stripe customer id');
    expect(noDb.code).toBe(1);
    expect(noDb.stderr.trim()).toBe('payconfirm accounts: invalid configuration: DATABASE_URL is required for this command (postgres://…)');
  });

  it('confirm: credited (0), already_credited (0), pending (2), not_payable (3), API errors (4), network and config errors (1)', async () => {
    const c = await newCustomer(ctx, fake);
    const other = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { amount: 4_321 });
    const key = { PAYCONFIRM_API_KEY: c.apiKey };

    const first = await payconfirm(['confirm', pi, '--json'], key);
    expect(first.code).toBe(0);
    expect(first.json).toMatchObject({ status: 'credited', payment_intent_id: pi, account_id: c.accountId, amount_minor: 4_321, currency: 'usd' });
    const again = await payconfirm(['confirm', pi], key);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`already_credited ${pi}: 4321 usd`);
    expect(again.stdout).toContain(first.json.ledger_entry_id);
    expect((await moneyFor(ctx, fake, pi, c.customerId)).ledgerCredits).toHaveLength(1);

    const processing = newPaymentIntent(fake, c.customerId, { status: 'processing' });
    const canceled = newPaymentIntent(fake, c.customerId, { status: 'canceled' });
    const othersPi = newPaymentIntent(fake, other.customerId);
    const closedPort = await freePort();
    const [pending, notPayable, forbidden, unknown, noKey, unreachable] = await Promise.all([
      payconfirm(['confirm', processing, '--json'], key),
      payconfirm(['confirm', canceled, '--json'], key),
      payconfirm(['confirm', othersPi, '--json'], key),
      payconfirm(['confirm', 'pi_unknown123'], key),
      payconfirm(['confirm', pi]),
      payconfirm(['confirm', pi, '--api-url', `http://127.0.0.1:${closedPort}`], key),
    ]);
    expect(pending.code).toBe(2);
    expect(pending.json).toMatchObject({ status: 'pending', stage: 'awaiting_payment', poll_url: `/billing/payments/${processing}` });
    expect(notPayable.code).toBe(3);
    expect(notPayable.json).toMatchObject({ status: 'not_payable', payment_intent_status: 'canceled' });
    expect(forbidden.code).toBe(4);
    expect(forbidden.json).toMatchObject({ error: { code: 'payment_intent_not_found', http_status: 404 } });
    expect((await moneyFor(ctx, fake, othersPi, other.customerId)).ledgerCredits).toEqual([]);
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toContain('payment_intent_not_found (HTTP 404');
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toContain('PAYCONFIRM_API_KEY (or --api-key) is required');
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain('network_error');
    for (const run of [first, again, pending, notPayable, forbidden, unknown, unreachable]) expect(run.stdout + run.stderr).not.toContain(c.apiKey);
  });

  it('confirm --wait polls a pending payment until it is credited', async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { status: 'processing', amount: 777 });
    const run = payconfirm(['confirm', '--wait', '30000', pi, '--json'], { PAYCONFIRM_API_KEY: c.apiKey });
    await eventually(() => queryPaymentState(ctx.client, pi), (s) => s.stage === 'awaiting_payment', { description: 'workflow awaiting payment' });
    fake.setPaymentIntentStatus(pi, 'succeeded');
    const done = await run;
    expect(done.code).toBe(0);
    expect(done.json).toMatchObject({ status: 'credited', amount_minor: 777 });
  });

  it('payments stuck lists a stuck payment with its reason; resolve credits it (0); updates that do not apply are refused (4)', async () => {
    const target = await newCustomer(ctx, fake);
    const orphan = fake.createCustomer();
    const pi = newPaymentIntent(fake, orphan.id, { amount: 5_000 });
    await startPayment(ctx, pi);
    await waitForAttention(ctx, pi, 'no_account_for_customer');

    const listed = await eventually(
      () => payconfirm(['payments', 'stuck', '--json']),
      (r) => r.code === 0 && Array.isArray(r.json) && r.json.some((p: any) => p.payment_intent_id === pi),
      { description: 'payments stuck lists the payment' },
    );
    expect(listed.json.find((p: any) => p.payment_intent_id === pi)).toMatchObject({
      customer_id: orphan.id,
      account_id: null,
      amount_minor: 5_000,
      currency: 'usd',
      reason: 'no_account_for_customer',
      failed_stage: 'loading',
    });
    const table = await payconfirm(['payments', 'stuck']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^PAYMENT INTENT\s+CUSTOMER\s+ACCOUNT\s+AMOUNT\s+REASON\s+SINCE\s+DETAIL/);
    expect(table.stdout).toMatch(new RegExp(`${pi}\\s+${orphan.id}\\s+—\\s+5000 usd\\s+no_account_for_customer`));
    const otherQueue = await payconfirm(['payments', 'stuck', '--task-queue', `${ctx.taskQueue}-none`]);
    expect(otherQueue.stdout).toContain('No stuck payments');

    // retry without a fix: applied, the payment waits again (exit 2)
    const retried = await payconfirm(['payments', 'retry', pi]);
    expect(retried.code).toBe(2);
    expect(retried.stdout).toContain('waits for an operator again: no_account_for_customer');

    const noAccount = await payconfirm(['payments', 'resolve', pi]);
    expect(noAccount.code).toBe(1);
    expect(noAccount.stderr).toContain('resolve needs --account');

    const resolved = await payconfirm(['payments', 'resolve', pi, '--account', target.accountId, '--note', 'orphan customer belongs to target', '--json']);
    expect(resolved.code).toBe(0);
    expect(resolved.json).toMatchObject({ payment_intent_id: pi, action: 'resolve', accepted: true, state: { outcome: { status: 'credited', account_id: target.accountId } } });
    expect((await moneyFor(ctx, fake, pi, orphan.id)).ledgerCredits).toHaveLength(1);

    const late = await payconfirm(['payments', 'reject', pi, '--reason', 'too late', '--json']);
    expect(late.code).toBe(4);
    expect(late.json.error.code).toBe('not_running');
    expect(late.stderr).toContain(`reject refused: payment ${pi} is not running (its workflow is COMPLETED)`);

    const processing = newPaymentIntent(fake, target.customerId, { status: 'processing' });
    await startPayment(ctx, processing);
    await eventually(() => queryPaymentState(ctx.client, processing), (s) => s.stage === 'awaiting_payment');
    const notStuck = await payconfirm(['payments', 'retry', processing]);
    expect(notStuck.code).toBe(4);
    expect(notStuck.stderr.trim()).toBe(
      `payconfirm payments: retry refused: payment ${processing} is awaiting_payment, not needs_attention: retry applies only to a payment waiting for an operator`,
    );
  });

  it('payments reject ends an amount anomaly without a credit (0); resolve is refused for it (4)', async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { amount: 0 });
    await startPayment(ctx, pi);
    await waitForAttention(ctx, pi, 'amount_anomaly');
    const resolve = await payconfirm(['payments', 'resolve', pi, '--account', c.accountId]);
    expect(resolve.code).toBe(4);
    expect(resolve.stderr).toContain('waits for amount_anomaly: fix the cause and retry, or reject');
    const reject = await payconfirm(['payments', 'reject', pi, '--reason', 'zero amount: confirmed with finance']);
    expect(reject.code).toBe(0);
    expect(reject.stdout).toContain(`reject accepted. ${pi} rejected: zero amount: confirmed with finance`);
    expect(await outcomeOf(ctx, pi)).toMatchObject({ status: 'rejected' });
    expect((await moneyFor(ctx, fake, pi, c.customerId)).ledgerCredits).toEqual([]);
  });

  it('db migrate applies the migrations to DATABASE_SCHEMA and is idempotent; temporal setup is idempotent', async () => {
    const schema = `${ctx.schema}_fresh`;
    extraSchemas.push(schema);
    const first = await payconfirm(['db', 'migrate'], { DATABASE_SCHEMA: schema });
    expect(first.code).toBe(0);
    const migrations = readdirSync(new URL('../src/db/migrations/', import.meta.url)).filter((f) => f.endsWith('.sql')).sort().map((f) => f.replace(/\.sql$/, ''));
    expect(migrations.length).toBeGreaterThanOrEqual(4);
    expect(first.stdout).toBe(`applied ${migrations.length} migration(s) to schema ${schema}: ${migrations.join(', ')}\n`);
    const second = await payconfirm(['db', 'migrate'], { DATABASE_SCHEMA: schema });
    expect(second).toMatchObject({ code: 0, stdout: `schema ${schema} is up to date\n` });
    const { rows } = await ctx.pool.query('SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1', [schema]);
    expect(rows[0].n).toBeGreaterThanOrEqual(5);

    const [setupA, setupB, noTemporal] = await Promise.all([
      payconfirm(['temporal', 'setup']),
      payconfirm(['temporal', 'setup']),
      payconfirm(['temporal', 'setup'], { TEMPORAL_ADDRESS: undefined }),
    ]);
    for (const run of [setupA, setupB]) {
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/search attributes (already registered|registered): .*PaymentStage/);
    }
    expect(noTemporal.code).toBe(1);
    expect(noTemporal.stderr).toContain('TEMPORAL_ADDRESS is required for this command');
  });
});

describe('payconfirm debit and refund (through the HTTP API)', () => {
  it('debit and refund once per --key; refusals exit 4 with the API code', async () => {
    const c = await newCustomer(ctx, fake);
    const pi = newPaymentIntent(fake, c.customerId, { amount: 2_000 });
    expect((await callApi(api.url, 'POST', '/billing/confirm_payment', { apiKey: c.apiKey, body: { payment_intent_id: pi } })).body).toMatchObject({ status: 'credited' });
    const asOwner = { PAYCONFIRM_API_KEY: c.apiKey };

    const debited = await payconfirm(['debit', '--amount', '300', '--currency', 'usd', '--reference', 'cli', '--key', 'cli-debit-1', '--json'], asOwner);
    expect(debited).toMatchObject({ code: 0, json: { amount_minor: 300, currency: 'usd', balance_after: { amount_minor: 1_700 } } });
    const again = await payconfirm(['debit', '--amount', '300', '--currency', 'usd', '--reference', 'cli', '--key', 'cli-debit-1', '--json'], asOwner);
    expect(again.json.id).toBe(debited.json.id);
    const tooMuch = await payconfirm(['debit', '--amount', '99999', '--currency', 'usd'], asOwner);
    expect(tooMuch.code).toBe(4);
    expect(tooMuch.stderr).toContain('insufficient_balance');

    const refunded = await payconfirm(['refund', pi, '--amount', '500', '--key', 'cli-refund-1'], asOwner);
    expect(refunded.code).toBe(0);
    expect(refunded.stdout).toMatch(new RegExp(`^refund re_\\w+ of 500 usd for ${pi}: succeeded`));
    const sameRefund = await payconfirm(['refund', pi, '--amount', '500', '--key', 'cli-refund-1', '--json'], asOwner);
    expect(refunded.stdout).toContain(sameRefund.json.id);
    const overRefund = await payconfirm(['refund', pi, '--amount', '999999'], asOwner);
    expect(overRefund.code).toBe(4);
    expect(overRefund.stderr).toContain('refund_exceeds_remaining');
    const usage = await Promise.all([payconfirm(['debit', '--amount', '0', '--currency', 'usd'], asOwner), payconfirm(['refund', 'ch_1'], asOwner), payconfirm(['debit', '--amount', '5', '--currency', 'usd'])]);
    expect(usage.map((r) => r.code)).toEqual([1, 1, 1]);
    expect(usage[2]!.stderr).toContain('PAYCONFIRM_API_KEY');
    const { rows } = await ctx.pool.query("SELECT kind, amount_minor FROM ledger_entries WHERE account_id = $1 AND kind = 'usage_debit'", [c.accountId]);
    expect(rows).toEqual([{ kind: 'usage_debit', amount_minor: -300 }]);
  });
});

describe('payconfirm events', () => {
  it('lists the inbox newest first with filters, and shows one event; an unknown event exits 4', async () => {
    const tag = uniqueSuffix();
    await ctx.pool.query(
      `INSERT INTO stripe_webhook_events (event_id, event_type, livemode, payment_intent_id, payload, status, outcome, last_error, attempts, received_at) VALUES
       ($1, 'payment_intent.succeeded', false, 'pi_cliEvents1', '{}', 'processed', 'forwarded_to_payment: pi_cliEvents1', NULL, 1, now() - interval '2 minutes'),
       ($2, 'charge.dispute.created', false, 'pi_cliEvents1', '{}', 'failed', 'forward_failed: pi_cliEvents1', 'Temporal said no', 3, now() - interval '1 minute'),
       ($3, 'customer.created', false, NULL, '{}', 'ignored', 'ignored: event type customer.created is not handled', NULL, 1, now() - interval '1 day')`,
      [`evt_cli${tag}a`, `evt_cli${tag}b`, `evt_cli${tag}c`],
    );
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const [all, failed, disputes, shown, unknown, badStatus] = await Promise.all([
      payconfirm(['events', 'list', '--since', since, '--json']),
      payconfirm(['events', 'list', '--status', 'failed', '--json']),
      payconfirm(['events', 'list', '--type', 'charge.dispute.*']),
      payconfirm(['events', 'show', `evt_cli${tag}b`]),
      payconfirm(['events', 'show', 'evt_cliNoSuchEvent']),
      payconfirm(['events', 'list', '--status', 'lost']),
    ]);
    expect(all.json.map((e: { event_id: string }) => e.event_id).filter((id: string) => id.startsWith(`evt_cli${tag}`))).toEqual([`evt_cli${tag}b`, `evt_cli${tag}a`]);
    expect(failed.json.find((e: { event_id: string }) => e.event_id === `evt_cli${tag}b`)).toMatchObject({ status: 'failed', last_error: 'Temporal said no', attempts: 3 });
    expect(failed.json.every((e: { status: string }) => e.status === 'failed')).toBe(true);
    expect(disputes.stdout).toContain(`evt_cli${tag}b`);
    expect(disputes.stdout).not.toContain(`evt_cli${tag}a`);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('status     failed — forward_failed: pi_cliEvents1');
    expect(shown.stdout).toContain('attempts   3; last error: Temporal said no');
    expect(unknown.code).toBe(4);
    expect(badStatus.code).toBe(1);
  });
});

describe('payconfirm ledger adjust', () => {
  it('two adjustments with one reason and two keys both apply; the same key again applies nothing; the same key for another amount is refused', async () => {
    const c = await newCustomer(ctx, fake);
    const adjust = (key: string, amount: string, extra: string[] = []) =>
      payconfirm(['ledger', 'adjust', '--account', c.accountId, `--amount=${amount}`, '--currency', 'usd', '--reason', 'goodwill credit', '--key', key, ...extra]);
    const [first, second] = [await adjust('TICKET-101', '500', ['--json']), await adjust('TICKET-102', '500')];
    expect(first).toMatchObject({ code: 0, json: { kind: 'admin_credit', amount_minor: 500, currency: 'usd', reason: 'goodwill credit', applied: true } });
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^applied: admin_credit 500 usd/);
    const again = await adjust('TICKET-101', '500');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`already applied under this key, nothing changed: admin_credit 500 usd to account ${c.accountId}, ledger entry ${first.json.ledger_entry_id}`);
    const conflicting = await adjust('TICKET-101', '-200');
    expect(conflicting.code).toBe(4);
    expect(conflicting.stderr).toContain('refused: key TICKET-101 already records another adjustment');
    const debit = await adjust('TICKET-103', '-200');
    expect(debit.stdout).toMatch(/^applied: admin_debit -200 usd/);
    const { rows } = await ctx.pool.query("SELECT kind, amount_minor FROM ledger_entries WHERE account_id = $1 ORDER BY seq", [c.accountId]);
    expect(rows).toEqual([
      { kind: 'admin_credit', amount_minor: 500 },
      { kind: 'admin_credit', amount_minor: 500 },
      { kind: 'admin_debit', amount_minor: -200 },
    ]);
    const bad = await Promise.all([
      payconfirm(['ledger', 'adjust', '--account', c.accountId, '--amount', '500', '--currency', 'usd', '--reason', 'no key']),
      payconfirm(['ledger', 'adjust', '--account', c.accountId, '--amount', '0', '--currency', 'usd', '--reason', 'r', '--key', 'k']),
      payconfirm(['ledger', 'adjust', '--account', c.accountId, '--amount', '1.5', '--currency', 'usd', '--reason', 'r', '--key', 'k']),
      payconfirm(['ledger', 'adjust', '--account', c.accountId, '--amount', '5', '--currency', 'XYZ', '--reason', 'r', '--key', 'k']),
      payconfirm(['ledger', 'adjust', '--account', '00000000-0000-4000-8000-000000000000', '--amount', '5', '--currency', 'usd', '--reason', 'r', '--key', 'k']),
    ]);
    expect(bad.map((r) => r.code)).toEqual([1, 1, 1, 1, 4]);
    expect(bad[0]!.stderr).toContain('--key is required');
    expect((await ctx.pool.query('SELECT count(*)::int AS n FROM ledger_entries WHERE account_id = $1', [c.accountId])).rows[0].n).toBe(3);
  });
});

describe('payconfirm ledger verify', () => {
  it('exits 0 on the ledger the tests above wrote', async () => {
    const credits = await ctx.pool.query("SELECT count(*)::int AS n FROM ledger_entries WHERE kind = 'payment_credit'");
    expect(credits.rows[0].n).toBeGreaterThan(0);
    const [human, json] = await Promise.all([payconfirm(['ledger', 'verify']), payconfirm(['ledger', 'verify', '--json'])]);
    expect(human).toMatchObject({
      code: 0,
      stdout: 'ledger ok: every balance equals the sum of its entries; no PaymentIntent is credited twice; every payment keeps its account of record and its mirror\n',
    });
    expect(json.code).toBe(0);
    expect(json.json).toEqual({ ok: true, balance_mismatches: [], duplicate_credits: [], account_of_record_violations: [], mirror_mismatches: [] });
  });

  it('exits 1 and prints the offending rows on a deliberately corrupted copy', async () => {
    const schema = `t_cli_corrupt_${uniqueSuffix()}`;
    extraSchemas.push(schema);
    await migrateUp({ url: ctx.databaseUrl, schema });
    const pi = 'pi_corruptcopy1';
    let otherAccountId = '';
    const accountId = await inTransaction(ctx.pool, async (client) => {
      await client.query(`SET LOCAL search_path = ${quoteIdent(schema)}`);
      const { rows } = await client.query<{ id: string }>("INSERT INTO accounts (stripe_customer_id) VALUES ('cus_corruptcopy') RETURNING id");
      const id = rows[0]!.id;
      // A sound credit first (the trigger moves the balance), so only the corruption below is reported.
      await client.query(
        "INSERT INTO ledger_entries (account_id, currency, amount_minor, kind, idempotency_key, payment_intent_id) VALUES ($1, 'usd', 1000, 'payment_credit', $2, $3)",
        [id, `stripe:payment_intent:${pi}`, pi],
      );
      // Invariant 2 is held by a constraint and a unique index: remove them in this copy only.
      await client.query('DROP INDEX ledger_one_credit_per_payment_intent');
      await client.query('ALTER TABLE ledger_entries DROP CONSTRAINT payment_credit_shape');
      // Triggers off: ledger rows that move no balance, and a balance no ledger row explains (invariant 1).
      await client.query('SET LOCAL session_replication_role = replica');
      await client.query(
        "INSERT INTO ledger_entries (account_id, currency, amount_minor, kind, idempotency_key, payment_intent_id) VALUES ($1, 'usd', 1000, 'payment_credit', $2, $3)",
        [id, `manual-second-credit:${pi}`, pi],
      );
      await client.query("INSERT INTO balances (account_id, currency, amount_minor) VALUES ($1, 'eur', 500)", [id]);
      // Invariant 7: a refund debit of the PaymentIntent on another account, an hour old and never mirrored.
      const other = await client.query<{ id: string }>("INSERT INTO accounts (stripe_customer_id) VALUES ('cus_corruptcopy2') RETURNING id");
      await client.query(
        `INSERT INTO ledger_entries (account_id, currency, amount_minor, kind, idempotency_key, payment_intent_id, stripe_refund_id, created_at)
         VALUES ($1, 'usd', -300, 'refund_debit', 'stripe:refund:re_corrupt1', $2, 're_corrupt1', now() - interval '1 hour')`,
        [other.rows[0]!.id, pi],
      );
      otherAccountId = other.rows[0]!.id;
      return id;
    });

    const [human, json] = await Promise.all([
      payconfirm(['ledger', 'verify'], { DATABASE_SCHEMA: schema }),
      payconfirm(['ledger', 'verify', '--json'], { DATABASE_SCHEMA: schema }),
    ]);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(new RegExp(`${accountId}\\s+eur\\s+500\\s+0`));
    expect(human.stdout).toMatch(new RegExp(`${accountId}\\s+usd\\s+1000\\s+2000`));
    expect(human.stdout).toMatch(new RegExp(`${pi}\\s+2`));
    expect(human.stdout).toMatch(new RegExp(`${pi}\\s+-300\\s+0\\s+1`));
    expect(human.stderr).toContain(
      '3 balance mismatch(es), 1 PaymentIntent(s) credited more than once, 1 off their account of record, 1 with a mirror that does not follow the ledger',
    );
    expect(json.code).toBe(1);
    expect(json.json).toEqual({
      ok: false,
      balance_mismatches: expect.arrayContaining([
        { account_id: accountId, currency: 'eur', stored_minor: 500, ledger_sum_minor: 0 },
        { account_id: accountId, currency: 'usd', stored_minor: 1000, ledger_sum_minor: 2000 },
        { account_id: otherAccountId, currency: 'usd', stored_minor: 0, ledger_sum_minor: -300 },
      ]),
      duplicate_credits: [{ payment_intent_id: pi, entries: 2 }],
      account_of_record_violations: [{ payment_intent_id: pi, accounts: 2 }],
      mirror_mismatches: [{ payment_intent_id: pi, ledger_net_minor: -300, mirror_net_minor: 0, unmirrored_movements: 1 }],
    });
    expect(json.json.balance_mismatches).toHaveLength(3);
    // The real schema is untouched.
    expect((await payconfirm(['ledger', 'verify'])).code).toBe(0);
  });
});

