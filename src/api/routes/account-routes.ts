import { Router } from 'express';
import { z } from 'zod';
import { getBalances, listLedgerEntries } from '../../db/ledger.js';
import type { ApiDeps } from '../api-deps.js';
import { authenticate } from '../authenticate.js';
import { badRequest } from '../http-errors.js';
import { locals } from '../request-context.js';

const ledgerQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().regex(/^\d{1,18}$/).optional(),
});

export function accountRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.use('/accounts/me', authenticate(deps.pool));

  router.get('/accounts/me/balance', async (_req, res) => {
    const account = locals(res).account!;
    const balances = await getBalances(deps.pool, account.id);
    res.json({ account_id: account.id, balances: balances.map((b) => ({ currency: b.currency, amount_minor: b.amountMinor })) });
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

  return router;
}
