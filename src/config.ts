import { z } from 'zod';
import type { AccountBudgets } from './api/account-budgets.js';
import { durationMinutes } from './domain/duration.js';
import type { MoneyPolicy } from './domain/credit-policy.js';
import { stripeTaskQueueFor } from './temporal/task-queues.js';
import { isNotificationSecret } from './notifications/signing.js';
import { isAccountEmail } from './domain/email-address.js';
import { stripeBudgetLimitsFor, type StripeBudgetLimits } from './stripe/stripe-request-budget.js';

/**
 * Service configuration, read from the environment once at start and validated.
 * Names are the user-facing contract (docs/configuration.md); defaults are safe for a laptop.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly variable: string, detail: string) {
    super(`${variable} ${detail}`);
  }
}

const postgresUrl = z
  .string()
  .refine((v) => /^postgres(ql)?:\/\/[^\s]+$/.test(v) && URL.canParse(v), 'must be a postgres:// URL');
const hostPort = z.string().regex(/^[A-Za-z0-9.\-\[\]:]+:\d{1,5}$/, 'must be host:port');
const httpUrl = z.string().refine((v) => URL.canParse(v) && /^https?:/.test(v), 'must be an http(s) URL');
const intFrom = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
/**
 * RECONCILE_INTERVAL / RECONCILE_LOOKBACK: `30m`, `6h`, `1d` → minutes (`off` only for the interval: null).
 * Bounds: 5 minutes to 30 days.
 */
const parseReconcileDuration = (offAllowed: boolean) => (value: string, ctx: z.RefinementCtx<string>) => {
  const v = value.trim().toLowerCase();
  if (offAllowed && v === 'off') return null;
  const minutes = durationMinutes(v.replace(/\s+/g, '')) ?? NaN;
  if (!(minutes >= 5 && minutes <= 30 * 1_440)) {
    ctx.addIssue({ code: 'custom', message: `must be a duration from 5m to 30d, like 24h or 2d${offAllowed ? ", or off" : ''}` });
    return z.NEVER;
  }
  return minutes;
};
const secretList = (prefix: string) =>
  z
    .string()
    .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .refine((list) => list.length > 0 && list.every((s) => s.startsWith(prefix)), `must be one or more ${prefix}… values, comma-separated`);

const schema = z.object({
  DATABASE_URL: postgresUrl.optional(),
  TEMPORAL_ADDRESS: hostPort.optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('payconfirm'),
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS_CERT_PATH: z.string().min(1).optional(),
  TEMPORAL_TLS_KEY_PATH: z.string().min(1).optional(),
  DATABASE_SCHEMA: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'must be a plain SQL identifier').optional(),
  STRIPE_SECRET_KEY: z.string().regex(/^(sk|rk)_(test|live)_[A-Za-z0-9_]+$/, 'must look like sk_test_… or sk_live_…').optional(),
  STRIPE_WEBHOOK_SECRET: secretList('whsec_').optional(),
  STRIPE_API_BASE: httpUrl.optional(),
  STRIPE_TIMEOUT_MS: intFrom(100, 120_000).default(10_000),
  // Unset: Stripe's documented default for the key's mode (src/stripe/stripe-request-budget.ts).
  STRIPE_RATE_LIMIT_PER_SECOND: intFrom(1, 10_000).optional(),
  STRIPE_OPERATION_RATE_LIMIT_PER_SECOND: intFrom(1, 10_000).optional(),
  PORT: intFrom(0, 65_535).default(3000),
  METRICS_HOST: z.string().regex(/^[A-Za-z0-9.\-:\[\]]+$/, 'must be a host name or an IP address').default('127.0.0.1'),
  METRICS_PORT: intFrom(0, 65_535).default(9465),
  STATE_GAUGES_MAX_AGE_SECONDS: intFrom(0, 3_600).default(15),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  CONFIRM_WAIT_MS: intFrom(0, 60_000).default(8_000),
  CONFIRM_RATE_LIMIT_PER_MINUTE: intFrom(0, 1_000_000).default(600),
  STATUS_RATE_LIMIT_PER_MINUTE: intFrom(0, 1_000_000).default(1_200),
  DEBIT_RATE_LIMIT_PER_MINUTE: intFrom(0, 1_000_000).default(600),
  REFUND_RATE_LIMIT_PER_MINUTE: intFrom(0, 1_000_000).default(60),
  API_STRIPE_READS_PER_SECOND: intFrom(0, 10_000).default(10),
  API_STRIPE_READS_PER_ACCOUNT_PER_MINUTE: intFrom(0, 600_000).default(60),
  IDEMPOTENCY_KEY_TTL_HOURS: intFrom(1, 24 * 90).default(24),
  IDEMPOTENCY_LEASE_SECONDS: intFrom(1, 3_600).default(60),
  WEBHOOK_MAX_BODY_BYTES: intFrom(1_024, 10_485_760).default(1_048_576),
  WEBHOOK_INBOX_RETENTION_DAYS: intFrom(1, 3_650).default(30),
  WEBHOOK_RELAY_STARTS_PER_SECOND: intFrom(0, 100_000).default(200),
  STRIPE_EVENT_BACKFILL_INTERVAL_MINUTES: intFrom(0, 1_440).default(10),
  STRIPE_EVENT_BACKFILL_LOOKBACK_DAYS: intFrom(1, 30).default(3),
  WEBHOOK_RELAY_MAX_ATTEMPTS: intFrom(1, 1_000).default(8),
  SHUTDOWN_GRACE_MS: intFrom(0, 600_000).default(25_000),
  NOTIFICATION_WEBHOOK_URL: httpUrl.optional(),
  NOTIFICATION_WEBHOOK_SECRET: z.string().refine(isNotificationSecret, 'must be whsec_ followed by the base64 of 24 to 64 random bytes').optional(),
  NOTIFICATION_MAX_ATTEMPTS: intFrom(1, 1_000).default(45),
  NOTIFICATION_TIMEOUT_MS: intFrom(100, 120_000).default(10_000),
  SMTP_URL: z.string().refine((v) => URL.canParse(v) && /^smtps?:\/\/[^/?#\s]+\/?$/.test(v), 'must be an smtp:// or smtps:// URL (smtp://user:pass@host:587)').optional(),
  SMTP_TIMEOUT_MS: intFrom(100, 120_000).default(10_000),
  RECEIPT_FROM: z.string().refine((v) => isAccountEmail(v) || /^[^<>\r\n]*<[^<>\s]+@[^<>\s]+>$/.test(v), 'must be an address, or "Name <address>"').optional(),
  RECEIPT_MESSAGE_ID_DOMAIN: z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/, 'must be a domain name').optional(),
  RECEIPT_MAX_ATTEMPTS: intFrom(1, 1_000).default(45),
  RECONCILE_INTERVAL: z.string().default('24h').transform(parseReconcileDuration(true)),
  RECONCILE_LOOKBACK: z.string().default('48h').transform(parseReconcileDuration(false)),
  CREDIT_PAYMENT_INTENTS: z.enum(['tagged', 'all']).default('tagged'),
  STRIPE_BALANCE_MIRROR: z.enum(['on', 'off']).default('on'),
  PAYCONFIRM_ROUTES_FILE: z.string().min(1).optional(),
});

type Env = z.infer<typeof schema>;

/** A live-mode key (`sk_live_…`, `rk_live_…`): it moves real money, so it only ever goes to Stripe over https. */
export const isLiveStripeKey = (key: string): boolean => /^(sk|rk)_live_/.test(key);

export interface Config {
  databaseUrl: string | undefined;
  /** Postgres schema for payconfirm's tables (search_path); default: the server's (public). */
  databaseSchema: string | undefined;
  temporal: {
    address: string | undefined;
    namespace: string;
    taskQueue: string;
    /** The payment's Stripe work runs on its own queue (`{queue}-stripe`); Stripe's limits are the request budget's. */
    stripeTaskQueue: string;
    apiKey: string | undefined;
    tls: { certPath: string; keyPath: string } | undefined;
  };
  stripe: {
    secretKey: string | undefined;
    webhookSecrets: string[];
    apiBase: string | undefined;
    timeoutMs: number;
    /**
     * The Stripe request budget every process shares (src/stripe/stripe-request-budget.ts): requests per second for
     * the account (STRIPE_RATE_LIMIT_PER_SECOND) and for each operation (STRIPE_OPERATION_RATE_LIMIT_PER_SECOND);
     * unset, Stripe's defaults for the key's mode — live 100 and 25, sandbox 25 and 25.
     */
    budget: StripeBudgetLimits;
  };
  /**
   * accountBudgetsPerMinute: what one account may ask of one API replica a minute, by kind (src/api/account-budgets.ts);
   * 0 disables a row. stripeReadsPerSecond: the API process's own Stripe reads, all callers together; 0 disables.
   */
  http: {
    port: number;
    confirmWaitMs: number;
    accountBudgetsPerMinute: Record<keyof AccountBudgets, number>;
    webhookMaxBodyBytes: number;
    stripeReadsPerSecond: number;
  };
  /**
   * The API's GET /metrics, on its own listener (src/metrics-server.ts): `host` (loopback by default: a scraper on the
   * host or a sidecar reaches it, the API's callers do not) and `port` (0: a free one). The API's own port answers 404.
   * stateGaugesMaxAgeSeconds: how long one reading of the state gauges (src/state-gauges.ts) serves scrapes (0: each
   * scrape reads), so a scrape storm does not query Postgres and Temporal each time.
   */
  metrics: { host: string; port: number; stateGaugesMaxAgeSeconds: number };
  webhookInboxRetentionDays: number;
  /** How long an API Idempotency-Key is remembered (money-moving POSTs). */
  idempotencyKeyTtlHours: number;
  /** How long a request holds its Idempotency-Key before a retry may take it over (its holder presumed dead). */
  idempotencyLeaseSeconds: number;
  /** Event workflows the inbox relay starts per second at most, per API process (0: no pace). */
  webhookRelayStartsPerSecond: number;
  /** Starts Temporal may refuse an inbox row before the row becomes `dead` (a dead letter for an operator). */
  webhookRelayMaxAttempts: number;
  /**
   * The Schedule that lists GET /v1/events into the inbox: every intervalMinutes (0: no schedule); a first run (no
   * cursor yet) looks back lookbackDays.
   */
  stripeEventBackfill: { intervalMinutes: number; lookbackDays: number };
  /** Which PaymentIntents are credit purchases, and whether the Stripe customer balance mirrors the ledger. */
  moneyPolicy: MoneyPolicy;
  logLevel: Env['LOG_LEVEL'];
  shutdownGraceMs: number;
  /**
   * Outgoing notifications (src/notifications/): the outbox is always written; the worker's deliverer POSTs it to
   * `url` (none: it stays pending) signed with `secret`, each notification up to `maxAttempts` times.
   */
  notifications: { url: string | undefined; secret: string | undefined; maxAttempts: number; timeoutMs: number };
  /**
   * E-mail receipts (src/notifications/email-receipts.ts): the outbox is always written (skipped for accounts without
   * an e-mail); the worker's deliverer sends them through `smtpUrl` (none: they stay pending) from `from`, each with
   * a Message-ID `<digest of the movement key@messageIdDomain>`, up to `maxAttempts` times.
   */
  receipts: { smtpUrl: string | undefined; from: string | undefined; messageIdDomain: string | undefined; maxAttempts: number; timeoutMs: number };
  /**
   * The scheduled reconcile (src/reconcile/payment-reconcile-schedule.ts): every `intervalMinutes` (null: off), the
   * PaymentIntents with activity in the last `lookbackMinutes`.
   */
  reconcile: { intervalMinutes: number | null; lookbackMinutes: number };
  /**
   * PAYCONFIRM_ROUTES_FILE: the team routes (src/routes/routes-file.ts), read and validated by each worker at start;
   * none: no team routes.
   */
  routesFile: string | undefined;
}

/** Reads and validates configuration. Throws ConfigError naming the first bad variable; never echoes its value. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const cleaned = Object.fromEntries(
    Object.keys(schema.shape).map((k) => [k, env[k] === '' ? undefined : env[k]]),
  );
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? 'configuration');
    const detail = issue.code === 'invalid_type' && cleaned[variable] === undefined ? 'is required' : issue.message;
    throw new ConfigError(variable, detail);
  }
  const e = parsed.data;
  if (e.RECONCILE_INTERVAL !== null && e.RECONCILE_LOOKBACK! < e.RECONCILE_INTERVAL) {
    throw new ConfigError('RECONCILE_LOOKBACK', 'must be at least RECONCILE_INTERVAL (each run must cover the time since the last)');
  }
  if (e.NOTIFICATION_WEBHOOK_URL && !e.NOTIFICATION_WEBHOOK_SECRET) {
    throw new ConfigError('NOTIFICATION_WEBHOOK_SECRET', 'is required with NOTIFICATION_WEBHOOK_URL (whsec_…: notifications are always signed)');
  }
  if (e.SMTP_URL && !e.RECEIPT_FROM) {
    throw new ConfigError('RECEIPT_FROM', 'is required with SMTP_URL (the receipts\' sender, e.g. "Acme Billing <billing@acme.example>")');
  }
  if (e.STRIPE_SECRET_KEY && e.STRIPE_API_BASE && isLiveStripeKey(e.STRIPE_SECRET_KEY) && new URL(e.STRIPE_API_BASE).protocol !== 'https:') {
    throw new ConfigError('STRIPE_API_BASE', 'must be an https:// URL with a live Stripe key (sk_live_…, rk_live_…): over http the key would cross the network in clear text; http is for test keys (the fake Stripe, stripe-mock)');
  }
  if (Boolean(e.TEMPORAL_TLS_CERT_PATH) !== Boolean(e.TEMPORAL_TLS_KEY_PATH)) {
    throw new ConfigError('TEMPORAL_TLS_KEY_PATH', 'and TEMPORAL_TLS_CERT_PATH must be set together');
  }
  return {
    databaseUrl: e.DATABASE_URL,
    databaseSchema: e.DATABASE_SCHEMA,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      stripeTaskQueue: stripeTaskQueueFor(e.TEMPORAL_TASK_QUEUE),
      apiKey: e.TEMPORAL_API_KEY,
      tls: e.TEMPORAL_TLS_CERT_PATH ? { certPath: e.TEMPORAL_TLS_CERT_PATH, keyPath: e.TEMPORAL_TLS_KEY_PATH! } : undefined,
    },
    stripe: {
      secretKey: e.STRIPE_SECRET_KEY,
      webhookSecrets: e.STRIPE_WEBHOOK_SECRET ?? [],
      apiBase: e.STRIPE_API_BASE,
      timeoutMs: e.STRIPE_TIMEOUT_MS,
      budget: stripeBudgetLimitsFor(e.STRIPE_SECRET_KEY, {
        accountPerSecond: e.STRIPE_RATE_LIMIT_PER_SECOND,
        operationPerSecond: e.STRIPE_OPERATION_RATE_LIMIT_PER_SECOND,
      }),
    },
    http: {
      port: e.PORT,
      confirmWaitMs: e.CONFIRM_WAIT_MS,
      accountBudgetsPerMinute: {
        confirm: e.CONFIRM_RATE_LIMIT_PER_MINUTE,
        status: e.STATUS_RATE_LIMIT_PER_MINUTE,
        spend: e.DEBIT_RATE_LIMIT_PER_MINUTE,
        refund: e.REFUND_RATE_LIMIT_PER_MINUTE,
        stripeReads: e.API_STRIPE_READS_PER_ACCOUNT_PER_MINUTE,
      },
      stripeReadsPerSecond: e.API_STRIPE_READS_PER_SECOND,
      webhookMaxBodyBytes: e.WEBHOOK_MAX_BODY_BYTES,
    },
    metrics: { host: e.METRICS_HOST, port: e.METRICS_PORT, stateGaugesMaxAgeSeconds: e.STATE_GAUGES_MAX_AGE_SECONDS },
    webhookInboxRetentionDays: e.WEBHOOK_INBOX_RETENTION_DAYS,
    webhookRelayStartsPerSecond: e.WEBHOOK_RELAY_STARTS_PER_SECOND,
    stripeEventBackfill: { intervalMinutes: e.STRIPE_EVENT_BACKFILL_INTERVAL_MINUTES, lookbackDays: e.STRIPE_EVENT_BACKFILL_LOOKBACK_DAYS },
    webhookRelayMaxAttempts: e.WEBHOOK_RELAY_MAX_ATTEMPTS,
    idempotencyKeyTtlHours: e.IDEMPOTENCY_KEY_TTL_HOURS,
    idempotencyLeaseSeconds: e.IDEMPOTENCY_LEASE_SECONDS,
    moneyPolicy: { creditPaymentIntents: e.CREDIT_PAYMENT_INTENTS, balanceMirror: e.STRIPE_BALANCE_MIRROR },
    logLevel: e.LOG_LEVEL,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    notifications: {
      url: e.NOTIFICATION_WEBHOOK_URL,
      secret: e.NOTIFICATION_WEBHOOK_SECRET,
      maxAttempts: e.NOTIFICATION_MAX_ATTEMPTS,
      timeoutMs: e.NOTIFICATION_TIMEOUT_MS,
    },
    receipts: {
      smtpUrl: e.SMTP_URL,
      from: e.RECEIPT_FROM,
      messageIdDomain: e.RECEIPT_MESSAGE_ID_DOMAIN ?? (e.RECEIPT_FROM ? /@([^>\s]+)>?$/.exec(e.RECEIPT_FROM)?.[1] : undefined),
      maxAttempts: e.RECEIPT_MAX_ATTEMPTS,
      timeoutMs: e.SMTP_TIMEOUT_MS,
    },
    reconcile: { intervalMinutes: e.RECONCILE_INTERVAL, lookbackMinutes: e.RECONCILE_LOOKBACK! },
    routesFile: e.PAYCONFIRM_ROUTES_FILE,
  };
}

export type ServiceConfig = Config & {
  databaseUrl: string;
  temporal: Config['temporal'] & { address: string };
  stripe: Config['stripe'] & { secretKey: string };
};

/** What the API and worker processes need: both backends and the Stripe keys (CLI commands need less). */
export function requireBackends(config: Config): ServiceConfig {
  if (!config.databaseUrl) throw new ConfigError('DATABASE_URL', 'is required');
  if (!config.temporal.address) throw new ConfigError('TEMPORAL_ADDRESS', 'is required');
  if (!config.stripe.secretKey) throw new ConfigError('STRIPE_SECRET_KEY', 'is required');
  if (config.stripe.webhookSecrets.length === 0) throw new ConfigError('STRIPE_WEBHOOK_SECRET', 'is required');
  return config as ServiceConfig;
}
