/**
 * Keeps a request parked until a timer elapses, someone releases it, or the
 * client (or the server shutting down) aborts it - whichever comes first.
 */
export type HoldOutcome = 'elapsed' | 'released' | 'aborted';

export interface HoldOptions {
  /** Elapse after this many ms; hold indefinitely when undefined. */
  readonly ms?: number;
  /** The exchange's abort signal (client gone or server closing). */
  readonly abort: AbortSignal;
  /** Fires when test code releases the hold. */
  readonly release: AbortSignal;
}

export function hold({ ms, abort, release }: HoldOptions): Promise<HoldOutcome> {
  if (abort.aborted) return Promise.resolve('aborted');
  if (release.aborted) return Promise.resolve('released');
  return new Promise((resolve) => {
    const finish = (outcome: HoldOutcome): void => {
      clearTimeout(timer);
      abort.removeEventListener('abort', onAbort);
      release.removeEventListener('abort', onRelease);
      resolve(outcome);
    };
    const onAbort = (): void => finish('aborted');
    const onRelease = (): void => finish('released');
    const timer = ms === undefined ? undefined : setTimeout(() => finish('elapsed'), ms);
    abort.addEventListener('abort', onAbort, { once: true });
    release.addEventListener('abort', onRelease, { once: true });
  });
}
