import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { startApi, type RunningApi } from '../api/start-api.js';
import { loadConfig, requireBackends, type Config } from '../config.js';
import { migrateUp } from '../db/migrate.js';
import { createLogger } from '../logger.js';
import { createMetrics } from '../metrics.js';
import { openBackends, type Backends } from '../runtime/backends.js';
import { runMain } from '../runtime/startup-error.js';
import { shutdownSignal } from '../runtime/shutdown-signal.js';
import { connectClient } from '../temporal/connection.js';
import { registerSearchAttributes } from '../temporal/register-search-attributes.js';
import { installWorkerRuntime } from '../temporal/worker-runtime.js';
import { startServiceWorkers } from '../worker/start-service-workers.js';
import { describeSmtpServer } from '../notifications/email-receipts.js';
import { startEmbeddedPostgres, type RunningPostgres } from './embedded-postgres.js';
import { ensureTool, MAILPIT, STRIPE_MOCK, TEMPORAL_CLI } from './go-tools.js';
import { startMailpit, type RunningMailpit } from './mailpit.js';
import { requireFreePort } from './port-check.js';
import { removeDevStackEnv, writeDevStackEnv } from '../runtime/dev-stack-env.js';
import { dataDir } from '../runtime/project-paths.js';
import { startStripeMock, STRIPE_MOCK_SECRET_KEY, type RunningStripeMock } from './stripe-mock.js';
import { startTemporalDevServer, type TemporalDevServer } from './temporal-dev-server.js';

const say = (line: string) => process.stdout.write(`[payconfirm] ${line}\n`);
const envPort = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

/** Used only when STRIPE_WEBHOOK_SECRET is unset in the dev stack; printed so `stripe listen` users can swap it. */
const DEV_WEBHOOK_SECRET = 'whsec_payconfirm_dev_only_not_secret';
/** The receipts' sender in the dev stack when RECEIPT_FROM is unset. */
const DEV_RECEIPT_FROM = 'payconfirm dev <receipts@payconfirm.localhost>';

/**
 * `npm start`: the whole service on one machine with embedded defaults, each replaced by its env var:
 * Temporal dev server + Web UI (TEMPORAL_ADDRESS), embedded Postgres (DATABASE_URL), stripe-mock
 * (STRIPE_SECRET_KEY / STRIPE_API_BASE), Mailpit for the e-mail receipts (SMTP_URL), then migrations, search attributes, the workers and the API.
 * Data lives in .data/ (PAYCONFIRM_DATA_DIR) across restarts. Ctrl-C stops everything in order.
 */
runMain('start', async () => {
  const stop = shutdownSignal(() => say('stopping…'));
  const started: { close(): Promise<void> }[] = []; // closed in reverse order
  const closeAll = async () => {
    for (const part of started.reverse()) await part.close().catch((err: unknown) => say(`while stopping: ${String(err)}`));
  };
  try {
    const env = { ...process.env };
    const dir = dataDir();
    mkdirSync(dir, { recursive: true });

    let temporal: TemporalDevServer | undefined;
    if (!env.TEMPORAL_ADDRESS) {
      const cliPath = await ensureTool(TEMPORAL_CLI, say);
      temporal = await startTemporalDevServer({
        cliPath,
        port: envPort('TEMPORAL_DEV_PORT', 7233),
        uiPort: envPort('TEMPORAL_UI_PORT', 8233),
        dbFile: join(dir, 'temporal.db'),
        logFile: join(dir, 'temporal.log'),
        namespace: env.TEMPORAL_NAMESPACE ?? 'default',
      });
      started.push({ close: () => temporal!.stop() });
      env.TEMPORAL_ADDRESS = temporal.address;
    }

    let postgres: RunningPostgres | undefined;
    if (!env.DATABASE_URL) {
      const port = envPort('PAYCONFIRM_PG_PORT', 54329);
      await requireFreePort(port, 'embedded Postgres', 'PAYCONFIRM_PG_PORT');
      postgres = await startEmbeddedPostgres({ dataDir: join(dir, 'postgres'), port });
      started.push({ close: () => postgres!.stop() });
      env.DATABASE_URL = postgres.url;
    }

    let stripeMock: RunningStripeMock | undefined;
    if (!env.STRIPE_SECRET_KEY) {
      stripeMock = await startStripeMock({ binaryPath: await ensureTool(STRIPE_MOCK, say), port: envPort('STRIPE_MOCK_PORT', 12111) });
      started.push({ close: () => stripeMock!.stop() });
      env.STRIPE_SECRET_KEY = STRIPE_MOCK_SECRET_KEY;
      env.STRIPE_API_BASE = stripeMock.url;
    }
    env.STRIPE_WEBHOOK_SECRET ??= DEV_WEBHOOK_SECRET;

    // E-mail receipts go to a local Mailpit (SMTP + web UI), which drops a second copy of a Message-ID it holds.
    let mailpit: RunningMailpit | undefined;
    if (!env.SMTP_URL) {
      mailpit = await startMailpit({
        binaryPath: await ensureTool(MAILPIT, say),
        smtpPort: envPort('MAILPIT_SMTP_PORT', 1025),
        httpPort: envPort('MAILPIT_UI_PORT', 8025),
        databaseFile: join(dir, 'mailpit.db'),
        ignoreDuplicateIds: true,
        logFile: join(dir, 'mailpit.log'),
      });
      started.push({ close: () => mailpit!.stop() });
      env.SMTP_URL = mailpit.smtpUrl;
      env.RECEIPT_FROM ??= DEV_RECEIPT_FROM;
    }

    const config = requireBackends(loadConfig(env));
    const logger = createLogger({ level: config.logLevel });
    await migrateUp({ url: config.databaseUrl, schema: config.databaseSchema });
    const setup = await connectClient({ ...config.temporal, address: config.temporal.address });
    await registerSearchAttributes(setup.connection, config.temporal.namespace);
    await setup.connection.close();

    const backends: Backends = await openBackends(config, 'payconfirm-dev');
    started.push(backends);
    const metrics = createMetrics();
    installWorkerRuntime({ logger });
    const workers = await startServiceWorkers(config, backends, metrics);
    started.push({ close: () => workers.stop() });
    const api: RunningApi = await startApi({ backends, config, logger, metrics });
    started.push(api);

    writeDevStackEnv({
      DATABASE_URL: config.databaseUrl,
      DATABASE_SCHEMA: config.databaseSchema,
      TEMPORAL_ADDRESS: config.temporal.address,
      TEMPORAL_NAMESPACE: config.temporal.namespace,
      TEMPORAL_TASK_QUEUE: config.temporal.taskQueue,
      STRIPE_SECRET_KEY: config.stripe.secretKey,
      STRIPE_API_BASE: config.stripe.apiBase,
      CREDIT_PAYMENT_INTENTS: config.moneyPolicy.creditPaymentIntents,
      STRIPE_BALANCE_MIRROR: config.moneyPolicy.balanceMirror,
      PAYCONFIRM_API_URL: api.url,
    });
    started.push({ close: async () => removeDevStackEnv() });
    printBanner(config, api, temporal, postgres, stripeMock, mailpit);
    await Promise.race([new Promise((resolve) => stop.addEventListener('abort', resolve, { once: true })), workers.running]);
  } finally {
    await closeAll();
    say('stopped');
  }
});

function printBanner(
  config: Config,
  api: RunningApi,
  temporal?: TemporalDevServer,
  postgres?: RunningPostgres,
  stripeMock?: RunningStripeMock,
  mailpit?: RunningMailpit,
): void {
  say(`API          ${api.url}   (GET /readyz, POST /billing/confirm_payment, POST /webhooks/stripe)`);
  say(`Metrics      ${api.metricsUrl}   (the API's GET /metrics, its own listener: METRICS_HOST, METRICS_PORT)`);
  say(`Temporal     ${config.temporal.address} namespace ${config.temporal.namespace}${temporal ? ' (dev server, data in .data/temporal.db)' : ''}`);
  if (temporal?.uiUrl) say(`Temporal UI  ${temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows   stuck payments: PaymentStage="needs_attention"`);
  say(`Postgres     ${postgres ? 'embedded (data in .data/postgres)' : 'DATABASE_URL'}`);
  say(`Stripe       ${stripeMock ? `stripe-mock at ${stripeMock.url} (set STRIPE_SECRET_KEY to use your Stripe test account)` : (config.stripe.apiBase ?? 'api.stripe.com')}`);
  if (mailpit) {
    say(`E-mail       receipts to Mailpit ${mailpit.smtpUrl}; read them at ${mailpit.hasWebUi ? `${mailpit.httpUrl} (web UI) or ` : ''}${mailpit.httpUrl}/api/v1/messages`);
    if (!mailpit.hasWebUi) say('             (this Mailpit, built from its Go module, has no web UI bundle: MAILPIT_PATH=<a Mailpit release binary> adds it)');
  }
  else if (config.receipts.smtpUrl) say(`E-mail       receipts through ${describeSmtpServer(config.receipts.smtpUrl)}`);
  if (config.stripe.webhookSecrets.includes(DEV_WEBHOOK_SECRET)) say(`Webhooks     signing secret ${DEV_WEBHOOK_SECRET} (dev only; set STRIPE_WEBHOOK_SECRET)`);
  say('Ctrl-C stops everything.');
}
