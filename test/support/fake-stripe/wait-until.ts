/**
 * Condition wait for tests: resolves once `condition()` is true, polling every `intervalMs`; rejects after
 * `timeoutMs`. Use it instead of sleeps, e.g. `await waitUntil(() => handle.held === 1)`.
 */
import { pollUntil } from '../../../src/dev/poll-until.js';

export interface WaitUntilOptions {
  timeoutMs?: number;
  intervalMs?: number;
  description?: string;
}

export async function waitUntil(condition: () => boolean, options: WaitUntilOptions = {}): Promise<void> {
  const { timeoutMs = 5_000, intervalMs = 2, description = 'condition' } = options;
  await pollUntil(description, condition, (met) => met, { timeoutMs, intervalMs });
}
