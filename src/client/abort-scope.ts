import { MAX_TIMER_DELAY_MS } from './abortable-sleep.js';

/** An AbortSignal that follows a parent signal and may also time out on its own. */
export interface AbortScope {
  readonly signal: AbortSignal;
  /** Clears the timeout and detaches from the parent. Call once the scoped work is over. */
  dispose(): void;
}

/**
 * Creates a child signal that aborts when `parent` aborts (reason: `reasonForParentAbort(parent.reason)`)
 * or when `timeoutMs` elapses (reason: `reasonForTimeout()`), whichever comes first.
 */
export function createAbortScope(options: {
  parent: AbortSignal | undefined;
  reasonForParentAbort: (parentReason: unknown) => unknown;
  timeoutMs: number | undefined;
  reasonForTimeout: () => unknown;
}): AbortScope {
  const { parent, timeoutMs } = options;
  const controller = new AbortController();
  const abortWithParent = (): void => controller.abort(options.reasonForParentAbort(parent?.reason));

  if (parent?.aborted) abortWithParent();
  else parent?.addEventListener('abort', abortWithParent, { once: true });

  const timer =
    timeoutMs === undefined || controller.signal.aborted
      ? undefined
      : setTimeout(
          () => controller.abort(options.reasonForTimeout()),
          Math.min(timeoutMs, MAX_TIMER_DELAY_MS),
        );

  return {
    signal: controller.signal,
    dispose() {
      clearTimeout(timer);
      parent?.removeEventListener('abort', abortWithParent);
    },
  };
}
