/**
 * Runs `work` over `items`, at most `lanes` at a time, each lane taking the next item as it finishes one.
 * Results come back in the order of `items`; `onDone` is told as each finishes, in completion order.
 * `work` is expected to settle every item itself (a rejection stops its lane and rejects the whole run).
 */
export async function inLanes<T, R>(
  items: readonly T[],
  lanes: number,
  work: (item: T, index: number) => Promise<R>,
  onDone?: (result: R, done: number, total: number) => void,
): Promise<R[]> {
  if (!Number.isSafeInteger(lanes) || lanes < 1) throw new RangeError(`concurrency must be a whole number ≥ 1, got ${lanes}`);
  const results: R[] = new Array(items.length);
  let next = 0;
  let done = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
      onDone?.(results[index], ++done, items.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes, items.length) }, lane));
  return results;
}
