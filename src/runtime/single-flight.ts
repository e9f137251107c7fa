/**
 * Concurrent callers asking for the same key share one call: the first starts it, the others join it while it
 * runs, and all get its result (or its error). Nothing is cached once it settles: the next caller starts afresh.
 */
export class SingleFlight<T> {
  readonly #running = new Map<string, Promise<T>>();

  /** `start` runs only when no call for `key` is under way; `joined` says whether this caller shared another's. */
  run(key: string, start: () => Promise<T>): { result: Promise<T>; joined: boolean } {
    const running = this.#running.get(key);
    if (running) return { result: running, joined: true };
    const result = start().finally(() => this.#running.delete(key));
    this.#running.set(key, result);
    return { result, joined: false };
  }

  /** Calls under way (for tests). */
  get size(): number {
    return this.#running.size;
  }
}
