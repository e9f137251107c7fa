import { Worker, bundleWorkflowCode, type ReplayResult, type ReplayWorkerOptions } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { basename, dirname, join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { projectRoot } from '../src/runtime/project-paths.js';
import { createLogger } from '../src/logger.js';
import { installWorkerRuntime } from '../src/temporal/worker-runtime.js';
import { completedPassesOf, countEvents, eventTypesOf, patchIdsOf } from './support/history-events.js';
import { loadHistoryFixtures, type HistoryFixture } from './support/history-fixtures.js';

/**
 * Versioning guard: every payment workflow history recorded by an earlier version of the code
 * (test/fixtures/histories/<set>/, recorded by `npm run record:histories`) must replay against the code of this
 * commit. A change that would break a running payment on deploy — a command added, removed or reordered without
 * `patched()` — fails here, in CI, instead of as a stuck workflow task in production. The second half shows the
 * guard can fail: the same extra step breaks every history without a patch and none with one.
 */
const fixtures = loadHistoryFixtures();

// The replays below fail on purpose: the SDK's warnings about each failed workflow task would drown the report.
beforeAll(() => installWorkerRuntime({ logger: createLogger({ level: 'silent', name: 'replay-test' }), level: 'ERROR' }));

async function replayAll(workflowBundle: ReplayWorkerOptions['workflowBundle'], histories: HistoryFixture[]): Promise<ReplayResult[]> {
  const results: ReplayResult[] = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle, replayName: 'payconfirm-replay-test' }, histories)) results.push(result);
  return results;
}

const errorsOf = (results: ReplayResult[]) => results.map((r) => [r.workflowId, r.error ? `${r.error.name}: ${r.error.message}` : null]);

describe('recorded histories replay against the current workflow code', () => {
  it('the fixtures cover the payment workflow paths: credited, refunded, needs_attention, processing, a long wait', () => {
    const scenarios = new Set(fixtures.map((f) => basename(f.workflowId).replace(/\.run-\d+$/, '')));
    for (const scenario of ['credited', 'credited-then-refunded', 'needs-attention-retried-then-resolved', 'processing-then-succeeded', 'processing-long-wait']) {
      expect(scenarios, `a recorded history of ${scenario}`).toContain(scenario);
    }
    // The first set holds what the code wrote before long waits had a backoff and continue-as-new.
    expect(new Set(fixtures.map((f) => dirname(f.workflowId)))).toContain('v1-recheck-every-5-min');
  });

  it('the sets before bounded carry-over hold no bounded-carry-over marker; the set after records it where a run continued as new', () => {
    const patchesOf = (id: string) => patchIdsOf(fixtures.find((f) => f.workflowId === id)!.history);
    expect(patchesOf('v2-recheck-backoff-continue-as-new/processing-long-wait.run-1')).toEqual(['processing-recheck-backoff', 'continue-as-new-past-history-budget']);
    expect(patchesOf('v3-bounded-carry-over/processing-long-wait.run-1')).toEqual(['processing-recheck-backoff', 'continue-as-new-past-history-budget', 'bounded-carry-over']);
  });

  it('the set after the local activity records its pass as a local-activity marker behind converge-in-local-activity; the sets before as activities', () => {
    const byId = (id: string) => fixtures.find((f) => f.workflowId === id)!.history;
    const v4 = byId('v4-converge-in-local-activity/credited');
    expect(patchIdsOf(v4)).toEqual(['converge-in-local-activity']);
    expect(eventTypesOf(v4)).not.toContain('ACTIVITY_TASK_SCHEDULED');
    expect(completedPassesOf(v4)).toBe(1);
    const v3 = byId('v3-bounded-carry-over/credited');
    expect(patchIdsOf(v3)).not.toContain('converge-in-local-activity');
    expect(countEvents(v3, 'ACTIVITY_TASK_COMPLETED')).toBe(1);
  });

  it('every recorded history replays without a non-determinism error', async () => {
    const results = await replayAll({ codePath: inject('workflowBundlePath') }, fixtures);
    expect(errorsOf(results)).toEqual(fixtures.map((f) => [f.workflowId, null]));
  });
});

describe('the guard can fail: a change without a patch breaks replay, the same change behind patched() does not', () => {
  const changed = (file: string) => join(projectRoot(), 'test', 'support', 'workflow-changes', file);
  /** Bundles a workflows module; `patchesAlwaysApplied`: with the SDK's patched() answering true, recording nothing. */
  const bundle = async (workflowsPath: string, opts: { patchesAlwaysApplied?: boolean } = {}) => {
    const { code } = await bundleWorkflowCode({
      workflowsPath,
      logger: quietLogger,
      ...(opts.patchesAlwaysApplied
        ? {
            webpackConfigHook: (config) => ({
              ...config,
              resolve: { ...config.resolve, alias: { ...(config.resolve?.alias as object), '@temporalio/workflow$': changed('patches-always-applied.ts') } },
            }),
          }
        : {}),
    });
    return { code };
  };
  let unpatched: { code: string };
  let patched: { code: string };
  let currentWithoutPatches: { code: string };

  beforeAll(async () => {
    [unpatched, patched, currentWithoutPatches] = await Promise.all([
      bundle(changed('unpatched-extra-timer.ts')),
      bundle(changed('patched-extra-timer.ts')),
      bundle(join(projectRoot(), 'workflows', 'index.ts'), { patchesAlwaysApplied: true }),
    ]);
  });

  it('an extra timer before the real workflow, without a patch: every history fails with a DeterminismViolationError', async () => {
    const results = await replayAll(unpatched, fixtures);
    expect(results).toHaveLength(fixtures.length);
    for (const result of results) {
      expect(result.error, `${result.workflowId} must not replay`).toBeInstanceOf(DeterminismViolationError);
    }
    // One history at a time, the error is thrown.
    await expect(Worker.runReplayHistory({ workflowBundle: unpatched }, fixtures[0]!.history)).rejects.toBeInstanceOf(DeterminismViolationError);
  });

  it('the same timer behind patched(): every history replays', async () => {
    const results = await replayAll(patched, fixtures);
    expect(errorsOf(results)).toEqual(fixtures.map((f) => [f.workflowId, null]));
  });

  it("the current code's own patches are what keep the recorded sets replaying: without them they fail", async () => {
    // These sets ran each pass as a regular activity on the -stripe queue: code that runs it as a local activity,
    // unpatched, schedules a marker where they recorded ActivityTaskScheduled.
    const recordedAsActivity = fixtures.filter((f) => ['v1-recheck-every-5-min', 'v2-recheck-backoff-continue-as-new', 'v3-bounded-carry-over'].includes(dirname(f.workflowId)));
    const results = await replayAll(currentWithoutPatches, recordedAsActivity);
    expect(results.filter((r) => !r.error).map((r) => r.workflowId)).toEqual([]);
    for (const r of results) expect(r.error, r.workflowId).toBeInstanceOf(DeterminismViolationError);
  });
});

const noop = () => {};
const quietLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, log: noop };
