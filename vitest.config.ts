import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * Files that measure what a loaded machine blurs: the Stripe rate limit's peak requests in any second (a process
 * that stalls sends what it holds in one burst), and SIGTERM's effect on a listening API. They run after the rest,
 * one at a time, with nothing else of the suite beside them.
 */
const ALONE = ['test/stripe-rate-limit.test.ts', 'test/graceful-shutdown.test.ts'];

const alias = { 'payconfirm/client': fileURLToPath(new URL('./src/client/index.ts', import.meta.url)) };

/** What every test file runs with (the projects below say only where a file runs). */
const FILES = {
  pool: 'forks',
  testTimeout: 90_000,
  hookTimeout: 180_000,
  teardownTimeout: 60_000,
} as const;

// One Temporal dev server and one Postgres for the whole run (test/support/global-setup.ts, the root's: the projects
// share it); each test file gets its own schema and task queue, so files run in parallel without sharing state.
export default defineConfig({
  resolve: { alias },
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    maxWorkers: 2,
    reporters: ['default'],
    projects: [
      { resolve: { alias }, test: { ...FILES, name: 'parallel', include: ['test/**/*.test.ts'], exclude: ALONE, sequence: { groupOrder: 0 } } },
      { resolve: { alias }, test: { ...FILES, name: 'alone', include: ALONE, fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
  },
});
