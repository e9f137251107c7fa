/**
 * The naive baseline the benchmark compares payconfirm with: what a team writes without orchestration. One HTTP
 * process that does everything inside the request — read the PaymentIntent, credit the ledger, create the
 * customer balance transaction, mark the PaymentIntent — for a webhook delivery and for a confirm call alike.
 * It has the same signature check, the same ledger (its unique key) and the same Stripe Idempotency-Keys, and
 * none of the rest: no durable acknowledgement, no retries, no operator path, nothing after the credit.
 *
 * Run by bench/payconfirm-vs-naive.ts as a child process (env: DATABASE_URL, DATABASE_SCHEMA, STRIPE_API_BASE,
 * STRIPE_WEBHOOK_SECRET, PORT); it prints `ready <url>` once listening.
 */
import express from 'express';
import { findAccountByStripeCustomer } from '../src/db/accounts.js';
import { creditPayment } from '../src/db/ledger.js';
import { createPool } from '../src/db/pool.js';
import { stripeKeyForCreditMark, stripeKeyForCreditTransaction } from '../src/domain/idempotency-keys.js';
import { createStripeClient } from '../src/stripe/stripe-client.js';
import { verifyStripeSignature } from '../src/webhooks/verify-stripe-signature.js';

const env = process.env;
const pool = createPool({ url: env.DATABASE_URL!, schema: env.DATABASE_SCHEMA, max: 30, application: 'bench-naive' });
const stripe = createStripeClient({ secretKey: 'sk_test_fake', apiBase: env.STRIPE_API_BASE, timeoutMs: 10_000 });
const secret = env.STRIPE_WEBHOOK_SECRET!;

async function creditInline(paymentIntentId: string): Promise<string> {
  const pi = await stripe.paymentIntents.retrieve(paymentIntentId);
  if (pi.status !== 'succeeded') return 'not_payable';
  const account = await findAccountByStripeCustomer(pool, pi.customer as string);
  if (!account) return 'no_account';
  const { entry } = await creditPayment(pool, { accountId: account.id, paymentIntentId: pi.id, amountMinor: pi.amount_received, currency: pi.currency });
  const tx = await stripe.customers.createBalanceTransaction(
    pi.customer as string,
    { amount: -pi.amount_received, currency: pi.currency, metadata: { payment_intent: pi.id } },
    { idempotencyKey: stripeKeyForCreditTransaction(pi.id) },
  );
  await stripe.paymentIntents.update(
    pi.id,
    { metadata: { credited: 'true', ledger_entry_id: entry.id, balance_transaction_id: tx.id } },
    { idempotencyKey: stripeKeyForCreditMark(pi.id) },
  );
  return 'credited';
}

const app = express();
app.post('/webhooks/stripe', express.raw({ type: 'application/json' }), async (req, res) => {
  try {
    const event = verifyStripeSignature(req.body as Buffer, req.header('stripe-signature'), [secret]) as {
      type: string;
      data: { object: { id: string } };
    };
    if (event.type === 'payment_intent.succeeded') await creditInline(event.data.object.id);
    res.json({ received: true });
  } catch (err) {
    res.status(500).json({ error: (err as Error).message });
  }
});
app.post('/confirm', express.json(), async (req, res) => {
  try {
    res.json({ status: await creditInline(String(req.body?.payment_intent_id)) });
  } catch (err) {
    res.status(500).json({ error: (err as Error).message });
  }
});
const server = app.listen(Number(env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  console.log(`ready http://127.0.0.1:${typeof address === 'object' && address ? address.port : ''}`);
});
process.on('SIGTERM', () => server.close(() => void pool.end().then(() => process.exit(0))));
