import type { BooksComparison } from '../../domain/books-drift.js';
import { PAYMENT_INTENT_ID } from '../../domain/stripe-ids.js';
import { allActivePaymentIntents } from '../../reconcile/active-payment-intents.js';
import { reconcilePayment, wakePaymentToConverge, type ReconcileDeps } from '../../reconcile/reconcile-payments.js';
import { createStripeClient } from '../../stripe/stripe-client.js';
import { createStripeRequestBudget } from '../../stripe/stripe-request-budget.js';
import { millisecondsOption, parseCommandArgs } from '../args.js';
import { cliConfig, withPool, withTemporal } from '../cli-env.js';
import { EXIT, UsageError } from '../cli-errors.js';
import type { CommandGroup } from '../command.js';
import { listDebts } from '../../db/balance-holds.js';
import { jsonText, tableText, type CliIo, type Column } from '../output.js';
import { ConfigError } from '../../config.js';

const DEFAULT_SINCE_DAYS = 30;
const DEFAULT_FIX_WAIT_MS = 60_000;

const usage = `Usage: payconfirm reconcile [pi_… …] [--since DATE] [--json] [--fix [--wait MS]]

Compares, per PaymentIntent, Stripe's truth (the PaymentIntent, its refunds and disputes, read fresh), the
ledger, and the mirror transactions on the Stripe customer of record, with the same decision function the
payment workflow uses. Prints the drift: movements Stripe calls for that the ledger lacks, movements the ledger
holds that Stripe does not call for, ledger movements without a mirror transaction, mirror transactions missing
on Stripe or mirroring nothing, payments waiting for an operator.

  pi_…          the PaymentIntents to check (default: every one with a ledger movement, a webhook event or an
                operator decision since --since)
  --since DATE  ISO date or date-time (default: ${DEFAULT_SINCE_DAYS} days ago)
  --json        one JSON object per PaymentIntent, with the drift
  --fix         wakes the payment workflow of each drifting PaymentIntent (it converges the books from Stripe and
                re-checks the mirror on Stripe), waits until it settles (--wait MS, default ${DEFAULT_FIX_WAIT_MS}), then
                checks again

Environment: DATABASE_URL, STRIPE_SECRET_KEY (and STRIPE_API_BASE), CREDIT_PAYMENT_INTENTS,
STRIPE_BALANCE_MIRROR — the service's own values; with --fix also TEMPORAL_ADDRESS, TEMPORAL_TASK_QUEUE.
Exit: 0 no drift (or every drift fixed) · 1 drift remains, or a usage/config/network error.
`;

const COLUMNS: Column<BooksComparison>[] = [
  { header: 'PAYMENT INTENT', value: (c) => c.paymentIntentId },
  { header: 'STATUS', value: (c) => c.status },
  { header: 'STRIPE NET', value: (c) => `${c.stripeNetMinor} ${c.currency}` },
  { header: 'LEDGER NET', value: (c) => c.ledgerNetMinor },
  { header: 'MIRROR NET', value: (c) => c.mirrorNetMinor ?? '—' },
  { header: 'DRIFT', value: (c) => (c.drift.length ? c.drift.map((d) => `${d.kind} ${d.subject}: ${d.detail}`).join('; ') : 'none'), maxWidth: 140 },
];

function parseSince(value: string | undefined, now: Date): Date {
  if (value === undefined) return new Date(now.getTime() - DEFAULT_SINCE_DAYS * 86_400_000);
  const since = new Date(value);
  if (Number.isNaN(since.getTime())) throw new UsageError(`--since wants an ISO date or date-time, got ${JSON.stringify(value)}`);
  return since;
}

export const reconcileCommand: CommandGroup = {
  name: 'reconcile',
  synopsis: ['reconcile [pi_…] [--since DATE] [--json] [--fix]         compare Stripe, the ledger and the mirror per PaymentIntent'],
  usage,
  async run(argv, io: CliIo) {
    const { values, positionals } = parseCommandArgs(argv, {
      since: { type: 'string' },
      json: { type: 'boolean' },
      fix: { type: 'boolean' },
      wait: { type: 'string' },
    });
    if (values.help) return io.stdout(usage), EXIT.ok;
    for (const pi of positionals) if (!PAYMENT_INTENT_ID.test(pi)) throw new UsageError(`not a PaymentIntent id (pi_…): ${JSON.stringify(pi)}`);
    if (positionals.length && values.since !== undefined) throw new UsageError('give PaymentIntent ids or --since, not both');
    if (values.wait !== undefined && !values.fix) throw new UsageError('--wait goes with --fix');
    const now = new Date();
    const since = parseSince(values.since, now);
    const waitMs = millisecondsOption('wait', values.wait, DEFAULT_FIX_WAIT_MS);
    const config = cliConfig(io.env);
    if (!config.stripe.secretKey) throw new ConfigError('STRIPE_SECRET_KEY', 'is required for this command');
    const { secretKey } = config.stripe;

    return withPool(config, async (pool) => {
      // The CLI's reads spend from the budget the workers and the API share (src/stripe/stripe-request-budget.ts).
      const budget = createStripeRequestBudget({ pool, limits: config.stripe.budget });
      const stripe = createStripeClient({ secretKey, apiBase: config.stripe.apiBase, timeoutMs: config.stripe.timeoutMs, budget });
      const deps: ReconcileDeps = { pool, stripe, policy: config.moneyPolicy };
      const ids = positionals.length ? positionals : await allActivePaymentIntents(pool, since);
      let results: BooksComparison[] = [];
      for (const pi of ids) results.push(await reconcilePayment(deps, pi));

      const drifting = results.filter((r) => r.drift.length > 0);
      if (values.fix && drifting.length) {
        await withTemporal(config, async ({ client, taskQueue }) => {
          const starter = { client, taskQueue };
          for (const r of drifting) await wakePaymentToConverge(starter, r.paymentIntentId, now);
          const until = Date.now() + waitMs;
          for (const r of drifting) {
            const handle = client.workflow.getHandle(r.paymentIntentId);
            while (Date.now() < until && (await handle.describe()).status.name === 'RUNNING') {
              await new Promise((resolve) => setTimeout(resolve, 250));
            }
          }
        });
        const again = new Map<string, BooksComparison>();
        for (const r of drifting) again.set(r.paymentIntentId, await reconcilePayment(deps, r.paymentIntentId));
        if (!values.json) io.stdout(`woke ${drifting.length} payment workflow(s) to converge; checked again:\n`);
        results = results.map((r) => again.get(r.paymentIntentId) ?? r);
      }

      const remaining = results.filter((r) => r.drift.length > 0);
      // Not drift (the books follow Stripe), but money owed: refunds outside the API or lost disputes (docs/refunds.md).
      const debts = await listDebts(pool);
      if (values.json) io.stdout(jsonText({ checked: results.length, drifting: remaining.length, payments: results, accountsInDebt: debts }));
      else if (results.length === 0) io.stdout(`No PaymentIntents with activity since ${since.toISOString()}.\n`);
      else io.stdout(`${tableText(COLUMNS, results)}\n${results.length} PaymentIntent(s) checked, ${remaining.length} drifting.\n`);
      if (debts.length && !values.json) {
        io.stdout(`${debts.length} account(s) in debt: ${debts.map((d) => `${d.accountId} owes ${d.debtMinor} ${d.currency}`).join('; ')} (payconfirm accounts show ACCOUNT_ID).\n`);
      }
      if (remaining.length) io.stderr(`reconcile: drift in ${remaining.length} PaymentIntent(s)${values.fix ? ' after --fix' : '; --fix wakes their workflows to converge'}\n`);
      return remaining.length ? EXIT.failure : EXIT.ok;
    });
  },
};
