/**
 * Condition wait for tests: resolves once `condition()` is true, polling
 * every `intervalMs`; rejects after `timeoutMs`. Use it instead of sleeps,
 * e.g. `await waitUntil(() => handle.held === 1)`.
 */
import { setTimeout as delay } from 'node:timers/promises';

export interface WaitUntilOptions {
  timeoutMs?: number;
  intervalMs?: number;
  description?: string;
}

export async function waitUntil(condition: () => boolean, options: WaitUntilOptions = {}): Promise<void> {
  const { timeoutMs = 5_000, intervalMs = 2, description = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`waitUntil: ${description} not met within ${timeoutMs}ms`);
    await delay(intervalMs);
  }
}
