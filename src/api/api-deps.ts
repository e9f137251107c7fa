import type { Client, Connection } from '@temporalio/client';
import type { IdempotencySettings } from '../db/idempotency-keys.js';
import type { Pool } from '../db/pool.js';
import type { MoneyPolicy } from '../domain/credit-policy.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { StripeClient } from '../stripe/stripe-client.js';
import type { PaymentWorkflowStarter } from '../temporal/payment-workflow-client.js';
import type { AccountBudgets } from './account-budgets.js';
import type { TruthReads } from './payment-lookup.js';
import type { StripeReadBudget } from './stripe-read-budget.js';

/** Everything the HTTP API needs, injected (tests build it from the run's real servers). */
export interface ApiDeps {
  pool: Pool;
  stripe: StripeClient;
  temporal: { connection: Connection; client: Client; namespace: string; taskQueue: string };
  payments: PaymentWorkflowStarter;
  logger: Logger;
  metrics: Metrics;
  settings: {
    /** How long confirm_payment waits for the workflow before answering 202 pending. */
    confirmWaitMs: number;
    /** What one account may ask of this replica, by kind of request (in memory); `perMinute: 0` disables a row. */
    accountBudgets: AccountBudgets;
    webhookSecrets: string[];
    webhookMaxBodyBytes: number;
    /** CREDIT_PAYMENT_INTENTS and STRIPE_BALANCE_MIRROR (confirm answers not_eligible by it). */
    moneyPolicy: MoneyPolicy;
    /** Idempotency-Key retention and a request's lease on its key (money-moving POSTs). */
    idempotency: IdempotencySettings;
    /** How long one reading of the state gauges serves /metrics scrapes (STATE_GAUGES_MAX_AGE_SECONDS; 0: each scrape reads). */
    stateGaugesMaxAgeMs: number;
  };
  /** The API's own Stripe reads: the account's share, then the process's (API_STRIPE_READS_PER_SECOND). */
  stripeReads: StripeReadBudget;
  /** Stripe reads under way, shared by concurrent callers of one account and PaymentIntent. */
  truthReads: TruthReads;
  /** Wakes the webhook inbox relay after a new inbox row (set by the webhook module). */
  onInboxRow?: () => void;
}
