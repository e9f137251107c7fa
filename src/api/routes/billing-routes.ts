import { Router, type Response } from 'express';
import { z } from 'zod';
import { PAYMENT_INTENT_ID } from '../../domain/stripe-ids.js';
import type { ApiDeps } from '../api-deps.js';
import { authenticate } from '../authenticate.js';
import { confirmPayment } from '../confirm-payment.js';
import { respondIdempotentlyInPhases } from '../idempotent-request.js';
import { refundPayment } from '../refund-payment.js';
import { badRequest } from '../http-errors.js';
import type { PaymentAnswer } from '../payment-answers.js';
import { paymentStatus } from '../payment-status.js';
import { limitPerAccount } from '../rate-limit.js';
import { locals } from '../request-context.js';

const confirmBody = z.object({ payment_intent_id: z.string().regex(PAYMENT_INTENT_ID) }).strict();
const refundBody = z
  .object({ payment_intent_id: z.string().regex(PAYMENT_INTENT_ID), amount_minor: z.number().int().positive().max(1_000_000_000_000).optional() })
  .strict();

const parsePaymentIntentId = (value: unknown): string => {
  if (typeof value !== 'string' || !PAYMENT_INTENT_ID.test(value)) throw badRequest('payment_intent_id must look like pi_…');
  return value;
};

function send(res: Response, answer: PaymentAnswer): void {
  const body = { ...answer.body };
  if (body.error && typeof body.error === 'object') body.error = { ...body.error, request_id: locals(res).requestId };
  res.status(answer.httpStatus).set(answer.headers).json(body);
}

export function billingRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.use('/billing', authenticate(deps.pool));

  router.post('/billing/confirm_payment', limitPerAccount(deps.settings.accountBudgets.confirm), async (req, res) => {
    const parsed = confirmBody.safeParse(req.body);
    if (!parsed.success) throw badRequest('body must be {"payment_intent_id": "pi_…"}');
    const { account, log } = locals(res);
    const answer = await confirmPayment(deps, account!, parsed.data.payment_intent_id).catch((err: unknown) => {
      deps.metrics.confirmAnswers.inc({ http_status: String((err as { status?: number }).status ?? 500), status: 'error' });
      throw err;
    });
    deps.metrics.confirmAnswers.inc({ http_status: String(answer.httpStatus), status: String(answer.body.status) });
    log.info({ paymentIntentId: parsed.data.payment_intent_id, answer: answer.body.status }, 'confirm_payment answered');
    send(res, answer);
  });

  router.post('/billing/refunds', limitPerAccount(deps.settings.accountBudgets.refund), async (req, res) => {
    const parsed = refundBody.safeParse(req.body);
    if (!parsed.success) throw badRequest('body must be {"payment_intent_id": "pi_…", "amount_minor": positive integer (optional: all that is left)}', 'invalid_refund');
    const account = locals(res).account!;
    await respondIdempotentlyInPhases(deps, req, res, account, (claimed) =>
      refundPayment(deps, account, { paymentIntentId: parsed.data.payment_intent_id, amountMinor: parsed.data.amount_minor }, claimed),
    );
  });

  router.get('/billing/payments/:paymentIntentId', limitPerAccount(deps.settings.accountBudgets.status), async (req, res) => {
    send(res, await paymentStatus(deps, locals(res).account!, parsePaymentIntentId(req.params.paymentIntentId)));
  });

  return router;
}
