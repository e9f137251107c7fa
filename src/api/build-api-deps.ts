import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { Backends } from '../runtime/backends.js';
import type { PaymentWorkflowTuning } from '../../workflows/payment-workflow-input.js';
import type { ApiDeps } from './api-deps.js';
import { SingleFlight } from '../runtime/single-flight.js';
import { accountBudgetsPerMinute } from './account-budgets.js';
import { createStripeReadBudget } from './stripe-read-budget.js';

export function buildApiDeps(
  backends: Backends,
  config: Config,
  logger: Logger,
  metrics: Metrics,
  tuning?: PaymentWorkflowTuning,
): ApiDeps {
  const accountBudgets = accountBudgetsPerMinute(config.http.accountBudgetsPerMinute);
  return {
    pool: backends.pool,
    stripe: backends.stripe,
    temporal: backends.temporal,
    payments: { client: backends.temporal.client, taskQueue: config.temporal.taskQueue, tuning },
    logger,
    metrics,
    stripeReads: createStripeReadBudget(config.http.stripeReadsPerSecond, accountBudgets.stripeReads),
    truthReads: new SingleFlight(),
    settings: {
      confirmWaitMs: config.http.confirmWaitMs,
      accountBudgets,
      webhookSecrets: config.stripe.webhookSecrets,
      webhookMaxBodyBytes: config.http.webhookMaxBodyBytes,
      moneyPolicy: config.moneyPolicy,
      idempotency: { ttlHours: config.idempotencyKeyTtlHours, leaseSeconds: config.idempotencyLeaseSeconds },
      stateGaugesMaxAgeMs: config.metrics.stateGaugesMaxAgeSeconds * 1_000,
    },
  };
}
