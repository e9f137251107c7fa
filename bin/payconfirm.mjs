#!/usr/bin/env node
// The `payconfirm` command: runs the built CLI (dist/, `npm run build`) when there is one, else the
// TypeScript source through tsx. PAYCONFIRM_CLI_FROM_SOURCE=1 forces the source (tests, so a stale
// build is never what they exercise).
import { existsSync } from 'node:fs';

const built = new URL('../dist/src/cli/main.js', import.meta.url);
if (existsSync(built) && process.env.PAYCONFIRM_CLI_FROM_SOURCE !== '1') {
  await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli/main.ts', import.meta.url).href);
}
