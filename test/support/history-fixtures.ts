import type { HistoryAndWorkflowId } from '@temporalio/client';
import type { History } from '@temporalio/common/lib/proto-utils.js';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { projectRoot } from '../../src/runtime/project-paths.js';
import { historyFromJson, historyToJson } from './history-json.js';

/**
 * Recorded workflow histories, the fixtures test/workflow-replay.test.ts replays: one folder per *set* (the
 * histories one version of the workflow code wrote, e.g. `v1-recheck-every-5-min/`), one file per scenario, each
 * in the JSON form Temporal's own tools write (`temporal workflow show --output json`; see history-json.ts). A set
 * is never re-recorded in place: a change of workflow code records a new set beside it.
 */
export const HISTORY_FIXTURES_DIR = join(projectRoot(), 'test', 'fixtures', 'histories');

/** One recorded history; its id is its path under HISTORY_FIXTURES_DIR without `.json`, e.g. `v1-…/credited`. */
export interface HistoryFixture extends HistoryAndWorkflowId {
  history: History;
}

/** Every recorded history of every set, sorted by id. */
export function loadHistoryFixtures(dir = HISTORY_FIXTURES_DIR): HistoryFixture[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => ({
      workflowId: relative(dir, join(dir, file)).replace(/\.json$/, ''),
      history: historyFromJson(JSON.parse(readFileSync(join(dir, file), 'utf8'))),
    }));
}

/** A new, empty set folder; refuses an existing one (a set holds what one version of the code wrote). */
export function createHistorySet(name: string, dir = HISTORY_FIXTURES_DIR): string {
  if (!/^[a-z0-9][a-z0-9.-]*$/.test(name)) throw new Error(`history set name ${JSON.stringify(name)}: use lower-case letters, digits, '.' and '-'`);
  const setDir = join(dir, name);
  if (existsSync(setDir)) throw new Error(`history set ${setDir} exists: record a new set (HISTORIES_SET=<new name>), never over an old one`);
  mkdirSync(setDir, { recursive: true });
  return setDir;
}

/** Writes one history as `<setDir>/<scenario>.json`, one event per line's worth of indentation (reviewable diffs). */
export function writeHistoryFixture(setDir: string, scenario: string, history: History): string {
  const file = join(setDir, `${scenario}.json`);
  writeFileSync(file, `${JSON.stringify(historyToJson(history), null, 1)}\n`);
  return file;
}
