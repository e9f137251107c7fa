import express, { type Express } from 'express';
import type { ApiDeps } from './api-deps.js';
import { registerStateGauges } from '../state-gauges.js';
import { errorHandler, notFoundHandler } from './error-handler.js';
import { requestContext } from './request-context.js';
import { withStripePriority } from '../stripe/stripe-request-budget.js';
import { accountRoutes } from './routes/account-routes.js';
import { billingRoutes } from './routes/billing-routes.js';
import { healthRoutes } from './routes/health-routes.js';

/** The HTTP API as an express app, built from injected dependencies (no globals, no I/O at import). */
export function createApp(deps: ApiDeps, extraRoutes: express.Router[] = []): Express {
  // The metrics listener (src/metrics-server.ts; not this app: its GET /metrics is a 404) also reports the shared state
  // the alert rules watch (inbox backlog, dead letters, needs_attention, drift).
  registerStateGauges(deps.metrics, { pool: deps.pool, temporal: deps.temporal, maxAgeMs: deps.settings.stateGaugesMaxAgeMs });
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(requestContext(deps.logger));
  app.use(healthRoutes(deps));
  // Webhook routes read the raw body themselves (signature check), so they mount before the JSON parser.
  for (const router of extraRoutes) app.use(router);
  app.use(express.json({ limit: '16kb', strict: true, type: 'application/json' }));
  // Someone is waiting for the answer (confirm's ownership read, a refund): the Stripe request budget serves the API's
  // requests before the workers' backlog (src/stripe/stripe-request-budget.ts). After the body parser, whose stream
  // callbacks would not carry the scope.
  app.use((_req, _res, next) => withStripePriority('interactive', next));
  app.use(billingRoutes(deps));
  app.use(accountRoutes(deps));
  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
