/** An exponential backoff: `initialMs` after the first failure, doubling, never more than `maxMs`. */
export interface Backoff {
  initialMs: number;
  maxMs: number;
}

/** The wait after the `failures`-th failure in a row (1-based; 0 waits `initialMs` too). */
export const backoffMs = (failures: number, b: Backoff): number => Math.min(b.maxMs, b.initialMs * 2 ** Math.min(Math.max(failures - 1, 0), 40));
