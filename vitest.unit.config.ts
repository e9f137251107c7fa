import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * `npm run test:unit`: the pure tests — the money model's rule tables, the client against a scripted server, the
 * rate limiter, the docs' links — with no Temporal, Postgres or Go tools (no global setup). Seconds, for a first
 * edit; `npm test` runs them again with everything else.
 */
const alias = { 'payconfirm/client': fileURLToPath(new URL('./src/client/index.ts', import.meta.url)) };

export const UNIT_TESTS = [
  'test/payment-movements.test.ts',
  'test/payment-plan.test.ts',
  'test/payment-decision.test.ts',
  'test/refund-allowance.test.ts',
  'test/stripe-events.test.ts',
  'test/in-lanes.test.ts',
  'test/rate-limit.test.ts',
  'test/docs-links.test.ts',
  'test/docker-compose.test.ts',
  'test/dependency-rules.test.ts',
  'test/client/*.test.ts',
];

export default defineConfig({
  resolve: { alias },
  test: { include: UNIT_TESTS, pool: 'forks', maxWorkers: 2, testTimeout: 30_000 },
});
