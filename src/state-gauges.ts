import type { Client } from '@temporalio/client';
import { Counter, Gauge } from 'prom-client';
import type { Pool } from './db/pool.js';
import type { Metrics } from './metrics.js';
import { PAYMENT_WORKFLOW_TYPE } from './temporal/payment-workflow-client.js';

/**
 * Gauges of payconfirm's state, read at scrape time from the stores every process shares — Postgres (the webhook
 * inbox, the outboxes of notifications and receipts, the scheduled reconcile's runs) and Temporal visibility (payments waiting for an operator) — for the alert
 * rules in deploy/prometheus/payconfirm-alerts.yml.
 *
 * They live in the API process (src/api/app.ts registers them): its /metrics (own listener, METRICS_HOST:METRICS_PORT)
 * is always served (the worker's is opt-in), it already holds both clients, and the inbox backlog is its relay's. The values are global, so every API
 * replica reports the same ones: the rules take `max`.
 *
 * Each scrape runs two cheap queries (one SQL statement on partial indexes, one visibility count), each bounded by
 * `timeoutMs` (the SQL also server-side, by a local statement_timeout). A query that fails or times out leaves its
 * gauges out of that scrape (no stale or made-up value) and counts in `payconfirm_state_gauge_failures_total`;
 * /metrics still answers. Concurrent scrapes share one query in flight, and one reading (or failure) serves the
 * scrapes of the next `maxAgeMs` (STATE_GAUGES_MAX_AGE_SECONDS, default 15 s): a scrape storm — several Prometheus,
 * a dashboard refreshing — costs Postgres and Temporal one reading per max age, and a value is at most that old.
 */
export interface StateGaugeSources {
  pool: Pool;
  temporal: { client: Client; taskQueue: string };
  /** Bound of each query, in ms (default 2000). */
  timeoutMs?: number;
  /** How long one reading serves later scrapes, in ms (STATE_GAUGES_MAX_AGE_SECONDS; default 0: every scrape reads). */
  maxAgeMs?: number;
}

export const STATE_GAUGE_NAMES = {
  inboxOldestUnprocessedAge: 'payconfirm_webhook_inbox_oldest_unprocessed_age_seconds',
  inboxDead: 'payconfirm_webhook_inbox_dead_events',
  inboxFailed: 'payconfirm_webhook_inbox_failed_events',
  needsAttention: 'payconfirm_payments_needs_attention',
  reconcileDrift: 'payconfirm_reconcile_drift_payments',
  reconcileUnresolved: 'payconfirm_reconcile_unresolved_payments',
  reconcileLastRun: 'payconfirm_reconcile_last_run_timestamp_seconds',
  outboxFailing: 'payconfirm_outbox_failing_rows',
  outboxDead: 'payconfirm_outbox_dead_rows',
  accountsInDebt: 'payconfirm_accounts_in_debt',
  failures: 'payconfirm_state_gauge_failures_total',
} as const;

/** The two outboxes (src/notifications/): the `outbox` label of the outbox gauges. */
const OUTBOXES = ['notifications', 'receipts'] as const;
type OutboxName = (typeof OUTBOXES)[number];

interface PostgresState {
  oldestAgeSeconds: number;
  dead: number;
  failed: number;
  /** Per outbox (label `outbox`): rows whose last attempt failed and that wait for the next, and dead rows. */
  outboxes: Record<OutboxName, { failing: number; dead: number }>;
  reconcile: { drifting: number; unresolved: number; finishedAtSeconds: number } | null;
  /** Accounts with a balance below zero in some currency (refunds or disputes outside the API; invariant 11). */
  accountsInDebt: number;
}

/** One statement, so one round trip; `SET LOCAL` bounds it on the server and ends with its implicit transaction. */
const postgresStateSql = (timeoutMs: number) => `SET LOCAL statement_timeout = ${Math.max(1, Math.floor(timeoutMs))};
SELECT
  (SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(received_at)), 0)::float8 FROM stripe_webhook_events WHERE status IN ('received', 'dispatched')) AS oldest_age,
  (SELECT count(*)::int FROM stripe_webhook_events WHERE status = 'dead') AS dead,
  (SELECT count(*)::int FROM stripe_webhook_events WHERE status = 'failed') AS failed,
  (SELECT count(*)::int FROM outgoing_notifications WHERE status = 'pending' AND attempts > 0) AS notifications_failing,
  (SELECT count(*)::int FROM outgoing_notifications WHERE status = 'dead') AS notifications_dead,
  (SELECT count(*)::int FROM outgoing_emails WHERE status = 'pending' AND attempts > 0) AS receipts_failing,
  (SELECT count(*)::int FROM outgoing_emails WHERE status = 'dead') AS receipts_dead,
  (SELECT count(DISTINCT account_id)::int FROM balances WHERE amount_minor < 0) AS accounts_in_debt,
  r.drifting, r.unresolved, EXTRACT(EPOCH FROM r.finished_at)::float8 AS finished_at
FROM (SELECT 1) one
LEFT JOIN LATERAL (SELECT drifting, unresolved, finished_at FROM reconcile_runs WHERE finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT 1) r ON true`;

/** Temporal visibility query: this deployment's payment workflows waiting for an operator. */
export const needsAttentionQuery = (taskQueue: string): string =>
  `WorkflowType = '${PAYMENT_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' AND PaymentStage = 'needs_attention' AND TaskQueue = '${taskQueue.replace(/['\\]/g, '\\$&')}'`;

function withTimeout<T>(work: () => Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([work(), timeout]).finally(() => clearTimeout(timer));
}

/**
 * Memoises the promise in flight — gauges of one source, collected together by one scrape, share one query — and its
 * outcome for `maxAgeMs` after it settles (a failure too: a scrape storm during an outage does not retry each time).
 */
export function cachedFor<T>(run: () => Promise<T>, maxAgeMs: number, now: () => number = Date.now): () => Promise<T> {
  let latest: { value: Promise<T>; settledAt: number | null } | null = null;
  return () => {
    if (latest && (latest.settledAt === null || now() - latest.settledAt < maxAgeMs)) return latest.value;
    const entry: { value: Promise<T>; settledAt: number | null } = { value: run(), settledAt: null };
    entry.value = entry.value.finally(() => (entry.settledAt = now()));
    latest = entry;
    return entry.value;
  };
}

/** Registers the state gauges on the process's registry (once: a second call on the same registry does nothing). */
export function registerStateGauges(metrics: Metrics, sources: StateGaugeSources): void {
  const { registry } = metrics;
  if (registry.getSingleMetric(STATE_GAUGE_NAMES.failures)) return;
  const timeoutMs = sources.timeoutMs ?? 2_000;
  const maxAgeMs = sources.maxAgeMs ?? 0;

  let failures: Counter<'source'> | undefined;
  const postgresState = cachedFor(async (): Promise<PostgresState | null> => {
    try {
      const results = (await withTimeout(() => sources.pool.query(postgresStateSql(timeoutMs)), timeoutMs, 'state gauge query')) as unknown as { rows: Record<string, number | null>[] }[];
      const row = results[results.length - 1]!.rows[0]!;
      return {
        oldestAgeSeconds: Math.max(0, Number(row.oldest_age ?? 0)),
        dead: Number(row.dead ?? 0),
        failed: Number(row.failed ?? 0),
        outboxes: {
          notifications: { failing: Number(row.notifications_failing ?? 0), dead: Number(row.notifications_dead ?? 0) },
          receipts: { failing: Number(row.receipts_failing ?? 0), dead: Number(row.receipts_dead ?? 0) },
        },
        accountsInDebt: Number(row.accounts_in_debt ?? 0),
        reconcile: row.finished_at === null || row.finished_at === undefined ? null : { drifting: Number(row.drifting), unresolved: Number(row.unresolved), finishedAtSeconds: Number(row.finished_at) },
      };
    } catch {
      failures?.inc({ source: 'postgres' });
      return null;
    }
  }, maxAgeMs);
  const needsAttention = cachedFor(async (): Promise<number | null> => {
    const { client, taskQueue } = sources.temporal;
    try {
      const { count } = await withTimeout(() => client.withDeadline(Date.now() + timeoutMs, () => client.workflow.count(needsAttentionQuery(taskQueue))), timeoutMs, 'visibility count');
      return count;
    } catch {
      failures?.inc({ source: 'temporal' });
      return null;
    }
  }, maxAgeMs);

  failures = new Counter({
    name: STATE_GAUGE_NAMES.failures,
    help: 'Scrape-time queries behind the state gauges that failed or timed out, by source (postgres, temporal); their gauges were left out of that scrape',
    labelNames: ['source'] as const,
    registers: [registry],
    // Collected with the gauges (the same queries in flight), so a failure shows in the scrape it happened in.
    async collect() {
      await Promise.all([postgresState(), needsAttention()]);
    },
  });
  failures.inc({ source: 'postgres' }, 0);
  failures.inc({ source: 'temporal' }, 0);

  /** A gauge set from `source` on each scrape; `pick` returning null leaves it out of this scrape. */
  const gauge = <T>(name: string, help: string, source: () => Promise<T | null>, pick: (value: T) => number | null) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        const value = await source();
        const v = value === null ? null : pick(value);
        if (v === null) this.remove();
        else this.set(v);
      },
    });

  gauge(STATE_GAUGE_NAMES.inboxOldestUnprocessedAge, 'Age in seconds of the oldest webhook inbox row not yet processed (status received or dispatched); 0 when none', postgresState, (s) => s.oldestAgeSeconds);
  gauge(STATE_GAUGE_NAMES.inboxDead, 'Webhook inbox rows in status dead: dead letters waiting for an operator (payconfirm events replay)', postgresState, (s) => s.dead);
  gauge(STATE_GAUGE_NAMES.inboxFailed, 'Webhook inbox rows in status failed: events their workflow could not deliver (last_error says why), waiting for an operator', postgresState, (s) => s.failed);
  gauge(STATE_GAUGE_NAMES.needsAttention, "Payment workflows of this deployment's task queue waiting for an operator (PaymentStage = needs_attention), from Temporal visibility", needsAttention, (n) => n);
  gauge(STATE_GAUGE_NAMES.reconcileDrift, 'PaymentIntents the latest finished scheduled reconcile found drifting (each was woken to converge); 0 before the first run', postgresState, (s) => s.reconcile?.drifting ?? 0);
  gauge(STATE_GAUGE_NAMES.reconcileUnresolved, 'PaymentIntents the latest finished scheduled reconcile left drifting once their workflow settled: an operator must act; 0 before the first run', postgresState, (s) => s.reconcile?.unresolved ?? 0);
  const outboxGauge = (name: string, help: string, pick: (o: PostgresState['outboxes'][OutboxName]) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['outbox'] as const,
      registers: [registry],
      async collect() {
        const state = await postgresState();
        if (state === null) this.reset();
        else for (const outbox of OUTBOXES) this.set({ outbox }, pick(state.outboxes[outbox]));
      },
    });
  outboxGauge(
    STATE_GAUGE_NAMES.outboxFailing,
    'Outbox rows whose last delivery attempt failed, waiting for the next (status pending, attempts > 0), by outbox: notifications (outgoing_notifications), receipts (outgoing_emails)',
    (o) => o.failing,
  );
  outboxGauge(STATE_GAUGE_NAMES.outboxDead, 'Outbox rows in status dead, waiting for an operator, by outbox: notifications, receipts', (o) => o.dead);
  gauge(
    STATE_GAUGE_NAMES.accountsInDebt,
    'Accounts whose balance is below zero in some currency: a refund made outside the API (Stripe Dashboard) or a lost dispute took more than the account held; API callers never can',
    postgresState,
    (s) => s.accountsInDebt,
  );
  gauge(STATE_GAUGE_NAMES.reconcileLastRun, 'When the latest scheduled reconcile run finished (Unix seconds); absent before the first run', postgresState, (s) => s.reconcile?.finishedAtSeconds ?? null);
}
