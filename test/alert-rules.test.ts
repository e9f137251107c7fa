import { Client } from '@temporalio/client';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createApp } from '../src/api/app.js';
import { startMetricsServer } from '../src/metrics-server.js';
import { ensureTool, PROMTOOL } from '../src/dev/go-tools.js';
import { projectRoot } from '../src/runtime/project-paths.js';
import { createMetrics } from '../src/metrics.js';
import { STATE_GAUGE_NAMES } from '../src/state-gauges.js';
import { signalPaymentWithStart } from '../src/temporal/payment-workflow-client.js';
import { startWorkerMetricsServer, type RunningWorkerMetricsServer } from '../src/worker/worker-metrics-server.js';
import { eventually } from './support/eventually.js';
import { headingAnchors } from './support/markdown-links.js';
import { startFakeStripe, type FakeStripe } from './support/fake-stripe/index.js';
import { terminateRunning, waitForAttention } from './support/operator-fixtures.js';
import { newPaymentIntent } from './support/payment-fixtures.js';
import { paymentStarter } from './support/payment-probes.js';
import { startTestApi, type TestApi } from './support/test-api.js';
import { createTestContext, startTestWorkers, stripeClientFor, uniqueSuffix, type RunningWorkers, type TestContext } from './support/test-context.js';

/**
 * The alerting contract: deploy/prometheus/payconfirm-alerts.yml passes `promtool check rules`, its unit tests
 * (payconfirm-alerts.test.yml) prove each alert fires on the series it watches and not otherwise, and every metric
 * the rules name is one the running service exports — scraped from a real API and a real worker. The state gauges
 * behind the rules move with the real state (Postgres inbox rows, a payment in needs_attention on the Temporal dev
 * server), and a query that fails or hangs never breaks /metrics.
 */
const rulesDir = join(projectRoot(), 'deploy', 'prometheus');
const rulesFile = join(rulesDir, 'payconfirm-alerts.yml');
const rulesTestFile = join(rulesDir, 'payconfirm-alerts.test.yml');

let promtool: string;
let ctx: TestContext;
let fake: FakeStripe;
let workers: RunningWorkers;
let api: TestApi;
let workerMetrics: RunningWorkerMetricsServer;

beforeAll(async () => {
  // Built by `npm test`'s pretest (src/dev/provision.ts --for-tests); a cold build here takes minutes.
  promtool = await ensureTool(PROMTOOL, (line) => process.stderr.write(`[alert-rules] ${line}\n`));
  ctx = await createTestContext('alert-rules');
  fake = await startFakeStripe();
  workers = await startTestWorkers(ctx, { stripe: stripeClientFor(fake.url) });
  api = await startTestApi(ctx, { stripe: stripeClientFor(fake.url) });
  workerMetrics = await startWorkerMetricsServer({ metrics: workers.metrics, port: 0, host: '127.0.0.1' });
}, 30 * 60_000);
afterAll(async () => {
  if (ctx) await terminateRunning(ctx);
  await workerMetrics?.close();
  await api?.close();
  await workers?.stop();
  await fake?.close();
  await ctx?.close();
});

function run(file: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === 'number' ? ((err as unknown as { code: number }).code) : -1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

interface Rule {
  alert: string;
  expr: string;
  annotations: Record<string, string>;
}
const rules = (): Rule[] => (parse(readFileSync(rulesFile, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);

async function scrapeText(url: string): Promise<string> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return res.text();
}
const samplesOf = (text: string): Map<string, number> =>
  new Map(
    text
      .split('\n')
      .map((line) => /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?)\s+(\S+)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1]!, Number(m[2])]),
  );
const apiSamples = async () => samplesOf(await scrapeText(api.metricsUrl));

describe('deploy/prometheus/payconfirm-alerts.yml', () => {
  it('passes `promtool check rules`', async () => {
    const { code, output } = await run(promtool, ['check', 'rules', rulesFile]);
    expect(code, output).toBe(0);
    expect(output).toContain(`SUCCESS: ${rules().length} rules found`);
  });

  it('passes its unit tests, which have a firing and a silent case for every alert', async () => {
    const { code, output } = await run(promtool, ['test', 'rules', rulesTestFile]);
    expect(code, output).toBe(0);
    expect(output).toContain('SUCCESS');

    const cases = (parse(readFileSync(rulesTestFile, 'utf8')) as { tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[] }).tests.flatMap(
      (t) => t.alert_rule_test ?? [],
    );
    for (const { alert } of rules()) {
      expect(cases.some((c) => c.alertname === alert && c.exp_alerts.length > 0), `${alert} fires in some test`).toBe(true);
      expect(cases.some((c) => c.alertname === alert && c.exp_alerts.length === 0), `${alert} stays silent in some test`).toBe(true);
    }
  });

  it('the unit tests bite: an alert that no longer fires on its series fails them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'payconfirm-alerts-'));
    try {
      const broken = readFileSync(rulesFile, 'utf8').replace('max(payconfirm_webhook_inbox_dead_events) > 0', 'max(payconfirm_webhook_inbox_dead_events) > 5');
      expect(broken).not.toBe(readFileSync(rulesFile, 'utf8'));
      writeFileSync(join(dir, 'payconfirm-alerts.yml'), broken);
      copyFileSync(rulesTestFile, join(dir, 'payconfirm-alerts.test.yml'));
      const { code, output } = await run(promtool, ['test', 'rules', join(dir, 'payconfirm-alerts.test.yml')]);
      expect(code).not.toBe(0);
      expect(output).toContain('PayconfirmWebhookDeadLetters');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every alert has a summary and a runbook in docs/operating.md', () => {
    const anchors = headingAnchors(readFileSync(join(projectRoot(), 'docs', 'operating.md'), 'utf8'));
    for (const rule of rules()) {
      expect(rule.annotations.summary, rule.alert).toBeTruthy();
      expect(rule.annotations.runbook_url, rule.alert).toMatch(/^docs\/operating\.md#/);
      expect(anchors.has(rule.annotations.runbook_url!.slice('docs/operating.md#'.length)), `${rule.alert}: ${rule.annotations.runbook_url}`).toBe(true);
    }
  });

  it('every metric the rules use is exported by the running API or worker; the state gauges have values on the API', async () => {
    const [apiText, workerText] = await Promise.all([scrapeText(api.metricsUrl), scrapeText(workerMetrics.url)]);
    const exported = (text: string) => new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    const served = new Set([...exported(apiText), ...exported(workerText)]);
    const used = new Set(rules().flatMap((r) => [...r.expr.matchAll(/\bpayconfirm_[a-z0-9_]+/g)].map((m) => m[0])));
    expect(used.size).toBeGreaterThan(5);
    for (const name of used) expect(served.has(name), `${name} is exported`).toBe(true);

    const samples = samplesOf(apiText);
    for (const name of [STATE_GAUGE_NAMES.inboxOldestUnprocessedAge, STATE_GAUGE_NAMES.inboxDead, STATE_GAUGE_NAMES.inboxFailed, STATE_GAUGE_NAMES.needsAttention, STATE_GAUGE_NAMES.reconcileDrift, STATE_GAUGE_NAMES.reconcileUnresolved, STATE_GAUGE_NAMES.accountsInDebt]) {
      expect(samples.has(name), `${name} has a sample`).toBe(true);
      expect(used.has(name), `${name} is alerted on`).toBe(true);
    }
    for (const name of [STATE_GAUGE_NAMES.outboxFailing, STATE_GAUGE_NAMES.outboxDead]) {
      for (const outbox of ['notifications', 'receipts']) expect(samples.has(`${name}{outbox="${outbox}"}`), `${name} of ${outbox} has a sample`).toBe(true);
      expect(used.has(name), `${name} is alerted on`).toBe(true);
    }
    // Served by the API only (see src/state-gauges.ts): the worker's scrape has none of them.
    expect(exported(workerText).has(STATE_GAUGE_NAMES.inboxDead)).toBe(false);
  });
});

/** An inbox row as the webhook route writes it, placed in a given state and time. */
async function inboxRow(status: string, receivedSecondsAgo: number): Promise<string> {
  const eventId = `evt_alerts_${uniqueSuffix()}`;
  await ctx.pool.query(
    `INSERT INTO stripe_webhook_events (event_id, event_type, livemode, payload, status, received_at)
     VALUES ($1, 'payment_intent.succeeded', false, $2::jsonb, $3, now() - make_interval(secs => $4))`,
    [eventId, JSON.stringify({ id: eventId }), status, receivedSecondsAgo],
  );
  return eventId;
}

describe('the state gauges on GET /metrics', () => {
  it('move with the inbox: oldest unprocessed row, dead and failed rows', async () => {
    const before = await apiSamples();
    expect(before.get(STATE_GAUGE_NAMES.inboxOldestUnprocessedAge)).toBe(0);
    expect(before.get(STATE_GAUGE_NAMES.inboxDead)).toBe(0);

    const finished = await inboxRow('processed', 7_200); // old, but done: not a backlog
    const waiting = await inboxRow('dispatched', 3_600);
    await inboxRow('received', 60);
    const dead = [await inboxRow('dead', 600), await inboxRow('dead', 30)];
    const failed = await inboxRow('failed', 900);
    const during = await apiSamples();
    expect(during.get(STATE_GAUGE_NAMES.inboxOldestUnprocessedAge)).toBeGreaterThanOrEqual(3_600);
    expect(during.get(STATE_GAUGE_NAMES.inboxOldestUnprocessedAge)).toBeLessThan(3_600 + 300);
    expect(during.get(STATE_GAUGE_NAMES.inboxDead)).toBe(2);
    expect(during.get(STATE_GAUGE_NAMES.inboxFailed)).toBe(1);

    await ctx.pool.query("UPDATE stripe_webhook_events SET status = 'processed' WHERE event_id = ANY($1)", [[waiting, ...dead, failed, finished]]);
    const after = await apiSamples();
    expect(after.get(STATE_GAUGE_NAMES.inboxOldestUnprocessedAge)).toBeGreaterThanOrEqual(60);
    expect(after.get(STATE_GAUGE_NAMES.inboxOldestUnprocessedAge)).toBeLessThan(600);
    expect(after.get(STATE_GAUGE_NAMES.inboxDead)).toBe(0);
    expect(after.get(STATE_GAUGE_NAMES.inboxFailed)).toBe(0);
    await ctx.pool.query("UPDATE stripe_webhook_events SET status = 'processed' WHERE status = 'received'");
    expect((await apiSamples()).get(STATE_GAUGE_NAMES.inboxOldestUnprocessedAge)).toBe(0);
  });

  it('move with the outboxes: rows whose last attempt failed, and dead rows, of notifications and of receipts', async () => {
    const outbox = (s: Map<string, number>, name: string, which: string) => s.get(`${name}{outbox="${which}"}`);
    const before = await apiSamples();
    for (const which of ['notifications', 'receipts']) {
      expect(outbox(before, STATE_GAUGE_NAMES.outboxFailing, which)).toBe(0);
      expect(outbox(before, STATE_GAUGE_NAMES.outboxDead, which)).toBe(0);
    }
    const tag = uniqueSuffix();
    const notification = (n: string, status: string, attempts: number) =>
      ctx.pool.query(`INSERT INTO outgoing_notifications (id, type, payload, status, attempts, dead_at) VALUES ($1, 'ledger.movement.created', '{}', $2, $3, CASE WHEN $2 = 'dead' THEN now() END)`, [
        `test:alerts:${tag}:${n}`,
        status,
        attempts,
      ]);
    await notification('never-tried', 'pending', 0); // no receiver configured: not a failure
    await notification('failing-1', 'pending', 3);
    await notification('failing-2', 'pending', 1);
    await notification('dead', 'dead', 45);
    await notification('delivered', 'delivered', 2);
    const { rows } = await ctx.pool.query<{ id: string }>(`INSERT INTO accounts (stripe_customer_id, name) VALUES ($1, 'alerts') RETURNING id`, [`cus_alerts${tag}`]);
    await ctx.pool.query(
      `INSERT INTO outgoing_emails (id, type, ledger_entry_id, account_id, recipient, payload, status, attempts, dead_at)
       VALUES ($1, 'payment.receipt', gen_random_uuid(), $2, 'a@example.com', '{}', 'dead', 5, now()), ($3, 'payment.receipt', gen_random_uuid(), $2, 'a@example.com', '{}', 'pending', 0, NULL)`,
      [`test:alerts:${tag}:receipt-dead`, rows[0]!.id, `test:alerts:${tag}:receipt-new`],
    );
    const during = await apiSamples();
    expect(outbox(during, STATE_GAUGE_NAMES.outboxFailing, 'notifications')).toBe(2);
    expect(outbox(during, STATE_GAUGE_NAMES.outboxDead, 'notifications')).toBe(1);
    expect(outbox(during, STATE_GAUGE_NAMES.outboxFailing, 'receipts')).toBe(0);
    expect(outbox(during, STATE_GAUGE_NAMES.outboxDead, 'receipts')).toBe(1);

    // Delivered at last, and the dead ones replayed (pending, attempts reset) and sent.
    await ctx.pool.query(`UPDATE outgoing_notifications SET status = 'delivered', delivered_at = now() WHERE id LIKE $1 AND status <> 'delivered'`, [`test:alerts:${tag}:%`]);
    await ctx.pool.query(`UPDATE outgoing_emails SET status = 'sent', sent_at = now(), dead_at = NULL WHERE id LIKE $1`, [`test:alerts:${tag}:%`]);
    const after = await apiSamples();
    for (const which of ['notifications', 'receipts']) {
      expect(outbox(after, STATE_GAUGE_NAMES.outboxFailing, which)).toBe(0);
      expect(outbox(after, STATE_GAUGE_NAMES.outboxDead, which)).toBe(0);
    }
  });

  it('count payments waiting in needs_attention (Temporal visibility, this task queue only)', async () => {
    expect((await apiSamples()).get(STATE_GAUGE_NAMES.needsAttention)).toBe(0);
    const stranger = fake.createCustomer(); // linked to no payconfirm account
    const pi = newPaymentIntent(fake, stranger.id);
    await signalPaymentWithStart(paymentStarter(ctx), pi, { eventId: `evt_alerts_${uniqueSuffix()}`, eventType: 'payment_intent.succeeded' });
    await waitForAttention(ctx, pi, 'no_account_for_customer');
    await eventually(apiSamples, (s) => s.get(STATE_GAUGE_NAMES.needsAttention) === 1, { description: 'needs_attention gauge at 1' });

    await ctx.client.workflow.getHandle(pi).terminate('the test is done with it');
    await eventually(apiSamples, (s) => s.get(STATE_GAUGE_NAMES.needsAttention) === 0, { description: 'needs_attention gauge back to 0' });
  });

  it('a hanging Postgres query is cut at its timeout: /metrics answers without its gauges and counts the failure', async () => {
    const failures = (s: Map<string, number>) => s.get(`${STATE_GAUGE_NAMES.failures}{source="postgres"}`) ?? 0;
    const before = await apiSamples();
    const locker = await ctx.pool.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE stripe_webhook_events IN ACCESS EXCLUSIVE MODE');
      const started = Date.now();
      const during = await apiSamples();
      expect(Date.now() - started).toBeLessThan(8_000);
      expect(during.has(STATE_GAUGE_NAMES.inboxDead)).toBe(false);
      expect(during.has(STATE_GAUGE_NAMES.inboxOldestUnprocessedAge)).toBe(false);
      expect(during.has(STATE_GAUGE_NAMES.reconcileDrift)).toBe(false);
      expect([...during.keys()].some((k) => k.startsWith(STATE_GAUGE_NAMES.outboxDead))).toBe(false);
      expect(failures(during)).toBe(failures(before) + 1);
      expect(during.get(STATE_GAUGE_NAMES.needsAttention)).toBe(0); // the other source still answers
      expect(during.has('payconfirm_confirm_answers_total') || during.has('payconfirm_process_cpu_seconds_total')).toBe(true);
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
    }
    expect((await apiSamples()).get(STATE_GAUGE_NAMES.inboxDead)).toBe(0);
  });

  it('a failing visibility query leaves needs_attention out and counts the failure; the Postgres gauges stay', async () => {
    const lost = new Client({ connection: ctx.connection, namespace: `payconfirm-no-such-namespace-${uniqueSuffix()}` });
    const metrics = createMetrics();
    createApp({ ...api.deps, metrics, temporal: { ...api.deps.temporal, client: lost } }); // registers the state gauges on `metrics`
    const server = await startMetricsServer({ metrics, host: '127.0.0.1', port: 0 });
    try {
      const samples = samplesOf(await scrapeText(server.url));
      expect(samples.has(STATE_GAUGE_NAMES.needsAttention)).toBe(false);
      expect(samples.get(`${STATE_GAUGE_NAMES.failures}{source="temporal"}`)).toBe(1);
      expect(samples.get(`${STATE_GAUGE_NAMES.failures}{source="postgres"}`)).toBe(0);
      expect(samples.get(STATE_GAUGE_NAMES.inboxDead)).toBe(0);
    } finally {
      await server.close();
    }
  });
});
