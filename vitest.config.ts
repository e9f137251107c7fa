import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// One Temporal dev server and one Postgres for the whole run (test/support/global-setup.ts); each test
// file gets its own schema and task queue, so files run in parallel without sharing state.
export default defineConfig({
  resolve: {
    alias: { 'payconfirm/client': fileURLToPath(new URL('./src/client/index.ts', import.meta.url)) },
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 90_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
    reporters: ['default'],
  },
});
