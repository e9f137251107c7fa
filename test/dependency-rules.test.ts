import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../src/runtime/project-paths.js';

/**
 * The layer order of .dependency-cruiser.cjs (domain < db, stripe < activities < workflows < temporal clients <
 * api, cli, worker < dev, bench), checked by dependency-cruiser over src/, activities/ and workflows/: a new import
 * that climbs a layer fails here, with the rule's name and both files.
 */
const run = promisify(execFile);

interface CruiseSummary {
  violations: { rule: { name: string }; from: string; to: string }[];
  totalCruised: number;
}

describe('the layer order', () => {
  it('no import climbs from a lower layer to a higher one', async () => {
    const { stdout } = await run(process.execPath, [
      `${projectRoot()}/node_modules/dependency-cruiser/bin/dependency-cruise.mjs`,
      'src', 'activities', 'workflows',
      '--config', '.dependency-cruiser.cjs',
      '--output-type', 'json',
    ], { cwd: projectRoot(), maxBuffer: 64 * 1024 * 1024 });
    const { summary } = JSON.parse(stdout) as { summary: CruiseSummary };
    expect(summary.totalCruised).toBeGreaterThan(150);
    expect(summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`)).toEqual([]);
  });
});
