import type { ServiceConfig } from '../config.js';
import type { Metrics } from '../metrics.js';
import type { Backends } from '../runtime/backends.js';
import { ensurePaymentReconcileSchedule } from '../reconcile/payment-reconcile-schedule.js';
import { connectWorker } from '../temporal/connection.js';
import { ensureInboxPruneSchedule } from '../webhooks/inbox-prune-schedule.js';
import { ensureStripeEventBackfillSchedule } from '../webhooks/stripe-event-backfill-schedule.js';
import { createWorkers, runWorkers } from './create-workers.js';
import { createLogger, type Logger } from '../logger.js';
import { startNotificationDeliverer } from '../notifications/deliverer.js';
import { startReceiptDeliverer } from '../notifications/email-receipts.js';
import { describeRoutes, loadTeamRoutes, type TeamRoute } from '../routes/routes-file.js';

export interface RunningServiceWorkers {
  /** Settles when the workers stop (after `stop()`, or when one fails). */
  running: Promise<void>;
  /** Drains the workers (no new tasks; in-flight activities get the grace time) and closes their connection. */
  stop(): Promise<void>;
}

/**
 * payconfirm's workers as a service runs them (worker process, dev stack): both task queues from the
 * configuration, plus the inbox prune Schedule and the Stripe event backfill Schedule (idempotent; every worker
 * may ensure them).
 */
export async function startServiceWorkers(
  config: ServiceConfig,
  backends: Backends,
  metrics: Metrics,
  logger: Logger = createLogger({ level: config.logLevel, name: 'payconfirm-worker' }),
  /** Team routes (PAYCONFIRM_ROUTES_FILE); default: read and validated here, before anything connects. */
  routes: readonly TeamRoute[] = loadTeamRoutes(config),
): Promise<RunningServiceWorkers> {
  if (routes.length > 0) logger.info({ routesFile: config.routesFile, routes: describeRoutes(routes) }, 'team routes');
  const connection = await connectWorker({ ...config.temporal, address: config.temporal.address });
  const workers = await createWorkers({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    pool: backends.pool,
    stripe: backends.stripe,
    client: backends.temporal.client,
    metrics,
    stripeBudget: backends.stripeBudget.limits,
    moneyPolicy: config.moneyPolicy,
    shutdownGraceTimeMs: config.shutdownGraceMs,
    routes,
  });
  await ensureInboxPruneSchedule(backends.temporal.client, config.temporal.taskQueue, config.webhookInboxRetentionDays);
  // The daily reconcile (RECONCILE_INTERVAL, RECONCILE_LOOKBACK; `off` deletes it).
  await ensurePaymentReconcileSchedule(backends.temporal.client, config.temporal.taskQueue, config.reconcile);
  await ensureStripeEventBackfillSchedule(backends.temporal.client, config.temporal.taskQueue, config.stripeEventBackfill);
  const abort = new AbortController();
  // The outbox deliverer (NOTIFICATION_WEBHOOK_URL; none: notifications stay pending), stopped with the workers.
  const { url, secret, maxAttempts, timeoutMs } = config.notifications;
  const deliverer =
    url && secret
      ? startNotificationDeliverer({ pool: backends.pool, url, secret, logger, metrics, timeoutMs, retry: { maxAttempts } })
      : null;
  // E-mail receipts (SMTP_URL; none: they stay pending), stopped with the workers.
  const { smtpUrl, from, messageIdDomain, maxAttempts: receiptMaxAttempts, timeoutMs: smtpTimeoutMs } = config.receipts;
  const receipts =
    smtpUrl && from && messageIdDomain
      ? startReceiptDeliverer({ pool: backends.pool, smtpUrl, from, messageIdDomain, logger, metrics, timeoutMs: smtpTimeoutMs, retry: { maxAttempts: receiptMaxAttempts } })
      : null;
  const running = runWorkers(workers, abort.signal).finally(async () => {
    await Promise.all([deliverer?.stop(), receipts?.stop()]);
    await connection.close();
  });
  return {
    running,
    stop: () => {
      abort.abort();
      return running;
    },
  };
}
