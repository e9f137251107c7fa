/**
 * The sleep of a polling loop (the inbox relay, the notification deliverer): `pause(ms, wakeable)` returns after
 * `ms`, at once on `stop()`, and — if `wakeable` — at once on `wake()` (a wake-up that comes while the loop works
 * is kept for its next pause). A backoff pauses unwakeable: new work must not cut it short.
 */
export interface WakeablePause {
  pause(ms: number, wakeable: boolean): Promise<void>;
  wake(): void;
  stop(): void;
  /** Takes the pending wake-up: call at the start of a round, whose work covers it. */
  clearWake(): void;
  readonly stopping: boolean;
}

export function createWakeablePause(): WakeablePause {
  let stopping = false;
  let woken = false;
  let interrupt: (() => void) | null = null;
  return {
    pause(ms, wakeable) {
      if (stopping || (wakeable && woken)) return Promise.resolve();
      return new Promise((resolve) => {
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          interrupt = null;
          resolve();
        }
        interrupt = () => (stopping || wakeable) && done();
      });
    },
    wake() {
      woken = true;
      interrupt?.();
    },
    stop() {
      stopping = true;
      interrupt?.();
    },
    clearWake() {
      woken = false;
    },
    get stopping() {
      return stopping;
    },
  };
}
