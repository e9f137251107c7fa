import { Router } from 'express';
import { z } from 'zod';
import { listAvailability } from '../../db/balance-holds.js';
import { listLedgerEntries } from '../../db/ledger.js';
import type { ApiDeps } from '../api-deps.js';
import { authenticate } from '../authenticate.js';
import { DebitKeyReusedError, debitUsage, InsufficientBalanceError } from '../../db/usage-debits.js';
import { isCurrencyCode } from '../../domain/money.js';
import { badRequest, HttpError } from '../http-errors.js';
import { respondIdempotently } from '../idempotent-request.js';
import { limitPerAccount } from '../rate-limit.js';
import { locals } from '../request-context.js';
import { listSubscriptions } from '../../subscriptions/subscription-store.js';
import { SUBSCRIPTION_ID } from '../../subscriptions/subscription-state.js';

const debitBody = z
  .object({
    amount_minor: z.number().int().positive().max(1_000_000_000_000),
    currency: z.string().refine(isCurrencyCode, 'an ISO 4217 currency code, lower-case'),
    reference: z.string().min(1).max(200).optional(),
    metadata: z
      .record(z.string().min(1).max(40), z.string().max(500))
      .refine((m) => Object.keys(m).length <= 20, 'at most 20 keys')
      .optional(),
  })
  .strict();

const ledgerQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().regex(/^\d{1,18}$/).optional(),
});

const subscriptionsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().regex(SUBSCRIPTION_ID).optional(),
});

export function accountRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.use('/accounts/me', authenticate(deps.pool));

  router.get('/accounts/me/balance', async (_req, res) => {
    const account = locals(res).account!;
    const balances = await listAvailability(deps.pool, account.id);
    res.json({
      account_id: account.id,
      // amount_minor: the ledger's balance; held_minor: reserved by refunds under way; available_minor: what can be spent or refunded.
      balances: balances.map((b) => ({ currency: b.currency, amount_minor: b.balanceMinor, held_minor: b.heldMinor, available_minor: b.availableMinor })),
    });
  });

  router.get('/accounts/me/ledger', async (req, res) => {
    const query = ledgerQuery.safeParse(req.query);
    if (!query.success) throw badRequest('limit must be 1–200 and cursor a value from next_cursor');
    const { limit, cursor } = query.data;
    const entries = await listLedgerEntries(deps.pool, locals(res).account!.id, {
      limit: limit + 1,
      ...(cursor ? { beforeSeq: Number(cursor) } : {}),
    });
    const page = entries.slice(0, limit);
    res.json({
      entries: page.map((e) => ({
        id: e.id,
        kind: e.kind,
        amount_minor: e.amountMinor,
        currency: e.currency,
        payment_intent_id: e.paymentIntentId,
        reference: e.reference,
        created_at: e.createdAt.toISOString(),
      })),
      next_cursor: entries.length > limit ? String(page.at(-1)!.seq) : null,
    });
  });

  /**
   * GET /accounts/me/subscriptions — the Stripe subscriptions of the account's customer as payconfirm keeps them
   * (from fresh reads of Stripe, one workflow per subscription), newest first; money as integer minor units + currency.
   */
  router.get('/accounts/me/subscriptions', async (req, res) => {
    const query = subscriptionsQuery.safeParse(req.query);
    if (!query.success) throw badRequest('limit must be 1–100 and cursor a value from next_cursor');
    const { limit, cursor } = query.data;
    const account = locals(res).account!;
    // By the account's Stripe customer (a link that never changes), so subscriptions seen before the account existed count too.
    const rows = await listSubscriptions(deps.pool, { customerId: account.stripeCustomerId, limit: limit + 1, ...(cursor ? { startingAfter: cursor } : {}) });
    const page = rows.slice(0, limit);
    res.json({
      account_id: account.id,
      subscriptions: page.map((s) => ({ ...s, account_id: account.id })),
      next_cursor: rows.length > limit ? page.at(-1)!.id : null,
    });
  });

  /**
   * POST /accounts/me/debits — spend credits: one ledger debit, refused with 409 `insufficient_balance` when what is
   * available (balance − credits held for refunds under way) would go below zero. Idempotent by the Idempotency-Key
   * header (src/api/idempotent-request.ts), and past the key's TTL by the ledger row itself (src/db/usage-debits.ts).
   */
  router.post('/accounts/me/debits', limitPerAccount(deps.settings.accountBudgets.spend), async (req, res) => {
    const parsed = debitBody.safeParse(req.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw badRequest(`${issue.path.join('.') || 'body'}: ${issue.message}`, 'invalid_debit');
    }
    const account = locals(res).account!;
    const debit = parsed.data;
    await respondIdempotently(deps, req, res, account, async (tx) => {
      try {
        const { entry, balanceAfterMinor } = await debitUsage(tx, {
          accountId: account.id,
          amountMinor: debit.amount_minor,
          currency: debit.currency,
          idempotencyKey: req.header('idempotency-key')!,
          reference: debit.reference ?? null,
          metadata: debit.metadata ?? null,
        });
        return {
          status: 201,
          body: {
            debit: {
              id: entry.id,
              amount_minor: -entry.amountMinor,
              currency: entry.currency,
              reference: entry.reference,
              metadata: debit.metadata ?? {},
              created_at: entry.createdAt.toISOString(),
            },
            balance: { currency: entry.currency, amount_minor: balanceAfterMinor },
          },
        };
      } catch (err) {
        if (err instanceof InsufficientBalanceError) {
          throw new HttpError(409, 'insufficient_balance', `${err.availableMinor} ${err.currency} is available; this debit would take it below zero`, {}, {
            available: { amount_minor: err.availableMinor, currency: err.currency },
          });
        }
        if (err instanceof DebitKeyReusedError) {
          throw new HttpError(422, 'idempotency_key_reused', 'this Idempotency-Key already made a different debit; use a new key for a new request');
        }
        throw err;
      }
    });
  });

  return router;
}
