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
import { createPool } from '../src/db/pool.js';
import { createStripeClient } from '../src/stripe/stripe-client.js';
import { verifyStripeSignature } from '../src/webhooks/verify-stripe-signature.js';
import { creditInline } from './naive-credit.js';

const env = process.env;
const pool = createPool({ url: env.DATABASE_URL!, schema: env.DATABASE_SCHEMA, max: 30, application: 'bench-naive' });
const stripe = createStripeClient({ secretKey: 'sk_test_fake', apiBase: env.STRIPE_API_BASE, timeoutMs: 10_000 });
const secret = env.STRIPE_WEBHOOK_SECRET!;

const app = express();
app.post('/webhooks/stripe', express.raw({ type: 'application/json' }), async (req, res) => {
  try {
    const event = verifyStripeSignature(req.body as Buffer, req.header('stripe-signature'), [secret]) as {
      type: string;
      data: { object: { id: string } };
    };
    if (event.type === 'payment_intent.succeeded') await creditInline(pool, stripe, event.data.object.id);
    res.json({ received: true });
  } catch (err) {
    res.status(500).json({ error: (err as Error).message });
  }
});
app.post('/confirm', express.json(), async (req, res) => {
  try {
    res.json({ status: await creditInline(pool, stripe, String(req.body?.payment_intent_id)) });
  } catch (err) {
    res.status(500).json({ error: (err as Error).message });
  }
});
const server = app.listen(Number(env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  console.log(`ready http://127.0.0.1:${typeof address === 'object' && address ? address.port : ''}`);
});
process.on('SIGTERM', () => server.close(() => void pool.end().then(() => process.exit(0))));
