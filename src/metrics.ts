import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics (prom-client). One registry per process; API, worker and the dev stack share
 * the same names so dashboards work whichever way the processes are split. The API serves them at
 * `GET /metrics`, the worker at WORKER_METRICS_PORT (src/worker/worker-metrics-server.ts), next to the
 * Temporal runtime's own `temporal_*` worker metrics. Node's process metrics come as `payconfirm_process_*`
 * and `payconfirm_nodejs_*`.
 */
export function createMetrics(registry = new Registry()) {
  collectDefaultMetrics({ register: registry, prefix: 'payconfirm_' });
  const m = {
    registry,
    webhookEventsDeadLettered: new Counter({
      name: 'payconfirm_webhook_events_dead_lettered_total',
      help: 'Inbox rows the relay gave up on (status dead): Temporal refused their event workflow WEBHOOK_RELAY_MAX_ATTEMPTS times, or the stored body is no event',
      registers: [registry],
    }),
    webhookDeliveries: new Counter({
      name: 'payconfirm_webhook_deliveries_total',
      help: 'Stripe webhook deliveries by event type and outcome (accepted, duplicate, rejected_signature, …)',
      labelNames: ['event_type', 'outcome'] as const,
      registers: [registry],
    }),
    confirmAnswers: new Counter({
      name: 'payconfirm_confirm_answers_total',
      help: 'confirm_payment answers by HTTP status and payment status',
      labelNames: ['http_status', 'status'] as const,
      registers: [registry],
    }),
    credits: new Counter({
      name: 'payconfirm_ledger_credits_total',
      help: 'Ledger payment credits written (created) or found already written (existing)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    ledgerMovements: new Counter({
      name: 'payconfirm_ledger_movements_total',
      help: 'Ledger movements of payments (payment_credit, refund_debit, refund_reversal, dispute_debit, dispute_reversal) written (created) or found already written (existing)',
      labelNames: ['kind', 'result'] as const,
      registers: [registry],
    }),
    duplicatesStopped: new Counter({
      name: 'payconfirm_duplicates_stopped_total',
      help: 'Duplicates stopped, by the guard that stopped them: workflow_id, ledger_key, stripe_lookup, stripe_idempotency, webhook_inbox',
      labelNames: ['guard'] as const,
      registers: [registry],
    }),
    stripeCalls: new Counter({
      name: 'payconfirm_stripe_calls_total',
      help: 'Stripe API requests (each HTTP attempt) by endpoint, e.g. "POST /v1/customers/:id/balance_transactions", and HTTP status, or "network" when no answer came',
      labelNames: ['endpoint', 'status'] as const,
      registers: [registry],
    }),
    stripeEventsBackfilled: new Counter({
      name: 'payconfirm_stripe_events_backfilled_total',
      help: 'Events the backfill listed from Stripe (GET /v1/events), by result: inserted (the inbox lacked it: the webhook never came), present (already in the inbox), malformed (skipped)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    stripeBudgetRequestsPerSecond: new Gauge({
      name: 'payconfirm_stripe_budget_requests_per_second',
      help: 'Limits of the Stripe request budget every process shares (Postgres), by scope: account (STRIPE_RATE_LIMIT_PER_SECOND) or operation, each method + path template (STRIPE_OPERATION_RATE_LIMIT_PER_SECOND); unset, Stripe\'s defaults for the key\'s mode',
      labelNames: ['scope'] as const,
      registers: [registry],
    }),
    reconcileRuns: new Counter({
      name: 'payconfirm_reconcile_runs_total',
      help: 'Scheduled reconcile runs finished by this process (the latest run\'s drift: payconfirm_reconcile_drift_payments on the API)',
      registers: [registry],
    }),
    reconcilePaymentsChecked: new Counter({
      name: 'payconfirm_reconcile_payments_checked_total',
      help: 'PaymentIntents compared (Stripe, ledger, mirror) by scheduled reconcile runs finished by this process',
      registers: [registry],
    }),
    reconcileDriftFound: new Counter({
      name: 'payconfirm_reconcile_drift_found_total',
      help: 'PaymentIntents scheduled reconcile runs found drifting (each was woken to converge), by what was left once they settled: converged or unresolved',
      labelNames: ['resolution'] as const,
      registers: [registry],
    }),
    notificationsDelivered: new Counter({
      name: 'payconfirm_notifications_delivered_total',
      help: 'Outgoing notifications the endpoint (NOTIFICATION_WEBHOOK_URL) accepted with a 2xx, by type',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
    notificationAttemptsFailed: new Counter({
      name: 'payconfirm_notification_attempts_failed_total',
      help: 'Outgoing notification attempts that failed (each retried with backoff), by reason: http_3xx, http_4xx, http_5xx, timeout, network',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    notificationsDeadLettered: new Counter({
      name: 'payconfirm_notifications_dead_lettered_total',
      help: 'Outgoing notifications given up on (status dead: NOTIFICATION_MAX_ATTEMPTS failed attempts, or 410 Gone), by type; `payconfirm notifications replay`',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
    receiptsSent: new Counter({
      name: 'payconfirm_email_receipts_sent_total',
      help: 'E-mail receipts the SMTP server (SMTP_URL) accepted with a 250',
      registers: [registry],
    }),
    receiptAttemptsFailed: new Counter({
      name: 'payconfirm_email_receipt_attempts_failed_total',
      help: 'E-mail receipt attempts that failed (each retried with backoff, a 5xx dead at once), by reason: smtp_4xx, smtp_5xx, timeout, network',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    receiptsDeadLettered: new Counter({
      name: 'payconfirm_email_receipts_dead_lettered_total',
      help: 'E-mail receipts given up on (status dead: RECEIPT_MAX_ATTEMPTS failed attempts, or a permanent 5xx refusal)',
      registers: [registry],
    }),
    workflowStartSeconds: new Histogram({
      name: 'payconfirm_workflow_start_seconds',
      help: 'Latency of starting (or attaching to) a Temporal workflow',
      labelNames: ['workflow'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
