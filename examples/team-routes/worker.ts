/**
 * The billing team's worker: its own process, its own task queue, its own database and Stripe key. payconfirm
 * only starts or signals its workflows (payconfirm.routes.yaml).
 *
 *   TEMPORAL_ADDRESS=127.0.0.1:7233 DATABASE_URL=postgres://… STRIPE_SECRET_KEY=sk_test_… \
 *     npx tsx examples/team-routes/worker.ts
 *
 * Optional: TEMPORAL_NAMESPACE (default), TEAM_TASK_QUEUE (billing-team), DATABASE_SCHEMA, STRIPE_API_BASE.
 * SIGINT / SIGTERM drain it (the Temporal SDK's own handlers).
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { BILLING_TEAM_SCHEMA, createBillingTeamActivities } from './activities.js';

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    console.error(`billing-team worker: ${name} is required`);
    process.exit(1);
  }
  return value;
}

const taskQueue = process.env.TEAM_TASK_QUEUE || 'billing-team';
const schema = process.env.DATABASE_SCHEMA;
const pool = new pg.Pool({
  connectionString: required('DATABASE_URL'),
  max: 5,
  ...(schema ? { options: `-c search_path="${schema.replace(/"/g, '""')}"` } : {}),
});
await pool.query(BILLING_TEAM_SCHEMA);

const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS || '127.0.0.1:7233' });
const worker = await Worker.create({
  connection,
  namespace: process.env.TEMPORAL_NAMESPACE || 'default',
  taskQueue,
  workflowsPath: fileURLToPath(new URL('./workflows.ts', import.meta.url)),
  activities: createBillingTeamActivities({
    pool,
    stripe: { secretKey: required('STRIPE_SECRET_KEY'), ...(process.env.STRIPE_API_BASE ? { apiBase: process.env.STRIPE_API_BASE } : {}) },
  }),
});
console.log(`billing-team worker polling ${taskQueue}`);
try {
  await worker.run();
} finally {
  await connection.close();
  await pool.end();
}
