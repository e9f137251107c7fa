import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { isDatabaseOutage } from '../../db/database-unavailable.js';
import { insertInboxEvent } from '../../db/webhook-inbox.js';
import { summariseStripeEvent, type StripeEventSummary } from '../../domain/stripe-events.js';
import { scrubSecrets } from '../../logger.js';
import { startStripeEventWorkflow } from '../../temporal/stripe-event-workflow-client.js';
import { verifyStripeSignature, WebhookPayloadNotJsonError, WebhookSignatureError } from '../../webhooks/verify-stripe-signature.js';
import type { ApiDeps } from '../api-deps.js';
import { badRequest, HttpError, unavailable } from '../http-errors.js';
import { locals } from '../request-context.js';
import { withTemporal } from '../temporal-calls.js';

/** How long Stripe (or anyone) is told to wait after a 503. Stripe retries on its own schedule anyway. */
const RETRY_AFTER_SECONDS = 30;

/**
 * POST /webhooks/stripe — acknowledges fast, loses nothing, never processes inline.
 *
 * 1. `Content-Type: application/json` or 415; the raw body up to WEBHOOK_MAX_BODY_BYTES or 413.
 * 2. `Stripe-Signature` verified by the stripe SDK against each configured secret (rotation), tolerance 300 s:
 *    400 missing_signature / invalid_signature / stale_signature.
 * 3. JSON (400 invalid_json) shaped like a Stripe event (400 invalid_event).
 * 4. Inbox row, ON CONFLICT DO NOTHING: 200 `{received: true}`, or `{received: true, duplicate: true}`; the relay
 *    is woken and starts the event workflow at Temporal's pace.
 * 5. Inbox unreachable: start the event workflow `evt_…` directly (it writes the row later) and answer 200;
 *    Temporal unreachable too: 503 + Retry-After, nothing written, Stripe retries.
 * Rejections write nothing.
 */
export function webhookRoutes(deps: ApiDeps): Router {
  const router = Router();
  const count = countDelivery(deps);

  const requireJson = (req: Request, _res: Response, next: NextFunction) => {
    if (req.is('application/json')) return next();
    count('unknown', 'rejected_content_type');
    throw new HttpError(415, 'unsupported_media_type', 'Stripe webhooks are sent as Content-Type: application/json');
  };
  const rawBody = express.raw({ type: 'application/json', limit: deps.settings.webhookMaxBodyBytes });
  const readRawBody = (req: Request, res: Response, next: NextFunction) =>
    rawBody(req, res, (err?: unknown) => {
      if ((err as { type?: string } | undefined)?.type === 'entity.too.large') count('unknown', 'rejected_too_large');
      next(err);
    });

  router.post('/webhooks/stripe', requireJson, readRawBody, async (req, res) => {
    const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const summary = verifiedEvent(deps, raw, req.header('stripe-signature'));
    const log = locals(res).log.child({ eventId: summary.id, eventType: summary.type });
    const payload = raw.toString('utf8');

    let recorded: 'inserted' | 'duplicate';
    try {
      recorded = await insertInboxEvent(deps.pool, summary, payload);
    } catch (err) {
      if (!isDatabaseOutage(err)) throw err;
      await acceptThroughTemporal(deps, summary, payload, log, err);
      res.json({ received: true });
      return;
    }
    if (recorded === 'duplicate') {
      deps.metrics.duplicatesStopped.inc({ guard: 'webhook_inbox' });
      count(summary.type, 'duplicate');
      res.json({ received: true, duplicate: true });
      return;
    }
    count(summary.type, 'accepted');
    res.json({ received: true });
    deps.onInboxRow?.();
  });

  return router;
}

/** payconfirm_webhook_deliveries_total{event_type, outcome}; event_type is `unknown` until the signature is good. */
const countDelivery = (deps: ApiDeps) => (eventType: string, outcome: string) => deps.metrics.webhookDeliveries.inc({ event_type: eventType, outcome });

/** Steps 2–3: the verified, well-formed event, or the 400 that explains what is wrong. */
function verifiedEvent(deps: ApiDeps, raw: Buffer, signature: string | undefined): StripeEventSummary {
  const count = countDelivery(deps);
  let body: unknown;
  try {
    body = verifyStripeSignature(raw, signature, deps.settings.webhookSecrets);
  } catch (err) {
    if (err instanceof WebhookSignatureError) {
      count('unknown', `rejected_signature_${err.problem}`);
      throw badRequest(err.message, `${err.problem}_signature`);
    }
    if (err instanceof WebhookPayloadNotJsonError) {
      count('unknown', 'rejected_json');
      throw badRequest(err.message, 'invalid_json');
    }
    throw err;
  }
  const shape = summariseStripeEvent(body);
  if (!shape.ok) {
    count('unknown', 'rejected_shape');
    throw badRequest(`not a Stripe event: ${shape.problem}`, 'invalid_event');
  }
  return shape.summary;
}

/** Step 5: with the inbox down, a started workflow is what makes the 200 durable; without either, 503. */
async function acceptThroughTemporal(
  deps: ApiDeps,
  summary: StripeEventSummary,
  payload: string,
  log: ApiDeps['logger'],
  inboxError: unknown,
): Promise<void> {
  const count = countDelivery(deps);
  log.warn({ err: { message: scrubSecrets(String((inboxError as Error)?.message ?? inboxError)) } }, 'webhook inbox unreachable; starting the event workflow directly');
  try {
    await withTemporal(deps, () => startStripeEventWorkflow(deps.payments, summary, { rawPayload: payload }));
  } catch (err) {
    count(summary.type, 'unavailable');
    log.error({ err: { message: scrubSecrets(String((err as Error)?.message ?? err)) } }, 'webhook refused: neither the inbox nor Temporal is reachable');
    throw unavailable('webhook_unavailable', 'the webhook inbox and the workflow service are both unreachable; retry later', RETRY_AFTER_SECONDS);
  }
  count(summary.type, 'accepted_via_temporal');
}
