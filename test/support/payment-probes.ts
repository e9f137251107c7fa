import type { PaymentWorkflowStarter } from '../../src/temporal/payment-workflow-client.js';
import { TEST_TUNING, type TestContext } from './test-context.js';

/** How the exactly-once tests start payment workflows: this file's task queue, fast test retries. */
export const paymentStarter = (ctx: TestContext): PaymentWorkflowStarter => ({ client: ctx.client, taskQueue: ctx.taskQueue, tuning: TEST_TUNING });

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The fake's path of one PaymentIntent (retrieve, update): for fault rules and request-log queries. */
export const paymentIntentPath = (paymentIntentId: string): RegExp => new RegExp(`^/v1/payment_intents/${escapeRegExp(paymentIntentId)}$`);

/** The fake's path of one customer's balance transactions (list, create). */
export const balanceTransactionsPath = (customerId: string): RegExp =>
  new RegExp(`^/v1/customers/${escapeRegExp(customerId)}/balance_transactions$`);

/** Ids of the ledger's payment credits for a PaymentIntent (at most one when invariant 2 holds). */
export async function ledgerCreditIds(ctx: TestContext, paymentIntentId: string): Promise<string[]> {
  const { rows } = await ctx.pool.query<{ id: string }>(
    "SELECT id FROM ledger_entries WHERE payment_intent_id = $1 AND kind = 'payment_credit' ORDER BY created_at",
    [paymentIntentId],
  );
  return rows.map((r) => r.id);
}
