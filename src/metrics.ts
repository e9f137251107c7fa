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
    stripeQueueActivitiesPerSecond: new Gauge({
      name: 'payconfirm_stripe_queue_activities_per_second',
      help: 'Activity rate limit this worker asks Temporal to hold on the Stripe task queue, derived from STRIPE_RATE_LIMIT_PER_SECOND',
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
