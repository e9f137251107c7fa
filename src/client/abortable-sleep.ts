/** Node turns longer timer delays into 1 ms, so every client timer is capped at this. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/**
 * Resolves after `delayMs`, or rejects with `signal.reason` as soon as `signal` aborts.
 * Either way its timer is cleared and its abort listener removed.
 */
export function abortableSleep(delayMs: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, Math.min(Math.max(0, delayMs), MAX_TIMER_DELAY_MS));
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
