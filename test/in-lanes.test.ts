import { describe, expect, it } from 'vitest';
import { inLanes } from '../src/runtime/in-lanes.js';

/** Releases each item's work when told to: the test decides the completion order, no timers. */
function gatedWork() {
  const gates = new Map<number, () => void>();
  let inFlight = 0;
  let mostInFlight = 0;
  const started: number[] = [];
  const work = (item: number) =>
    new Promise<string>((resolve) => {
      inFlight += 1;
      mostInFlight = Math.max(mostInFlight, inFlight);
      started.push(item);
      gates.set(item, () => {
        inFlight -= 1;
        resolve(`done ${item}`);
      });
    });
  const release = async (item: number) => {
    for (let i = 0; i < 10 && !gates.has(item); i++) await Promise.resolve();
    const open = gates.get(item);
    if (!open) throw new Error(`item ${item} was never started`);
    open();
  };
  return { work, release, started, mostInFlight: () => mostInFlight };
}

describe('inLanes', () => {
  it('keeps at most `lanes` in flight, starts the next as one finishes, and answers in the order of the items', async () => {
    const g = gatedWork();
    const finished: Array<[string, number, number]> = [];
    const run = inLanes([0, 1, 2, 3, 4], 2, g.work, (result, done, total) => finished.push([result, done, total]));
    await g.release(1);
    await g.release(2);
    await g.release(0);
    await g.release(4);
    await g.release(3);
    await expect(run).resolves.toEqual(['done 0', 'done 1', 'done 2', 'done 3', 'done 4']);
    expect(g.mostInFlight()).toBe(2);
    expect(g.started).toEqual([0, 1, 2, 3, 4]);
    expect(finished).toEqual([
      ['done 1', 1, 5],
      ['done 2', 2, 5],
      ['done 0', 3, 5],
      ['done 4', 4, 5],
      ['done 3', 5, 5],
    ]);
  });

  it('runs every item once when there are more lanes than items, and nothing for none', async () => {
    const seen: number[] = [];
    await expect(inLanes([7, 8], 16, async (item) => (seen.push(item), item * 2))).resolves.toEqual([14, 16]);
    expect(seen).toEqual([7, 8]);
    await expect(inLanes([], 4, async () => 1)).resolves.toEqual([]);
  });

  it('refuses a number of lanes that is not a whole number ≥ 1', async () => {
    for (const lanes of [0, -1, 1.5, Number.NaN]) {
      await expect(inLanes([1], lanes, async (x) => x)).rejects.toThrow(RangeError);
    }
  });
});
