import { pollUntil } from '../../src/dev/poll-until.js';

/**
 * Polls an async probe until `accept` holds for its value (no fixed sleeps: it returns as soon as the
 * condition is met), or fails with the last value seen after `timeoutMs` (default 30 s).
 */
export function eventually<T>(
  probe: () => Promise<T>,
  accept: (value: T) => boolean,
  opts: { timeoutMs?: number; intervalMs?: number; description?: string } = {},
): Promise<T> {
  return pollUntil(opts.description ?? 'condition', probe, accept, opts);
}
