import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder holding this project's package.json, found from this file (works from src/ and dist/src/). */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || dir.endsWith('dist')) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('payconfirm: cannot find the project root (package.json)');
    dir = parent;
  }
  return dir;
}

/** Built tools (Temporal CLI, stripe-mock) are cached here; git ignores it. */
export const toolsDir = (): string => join(projectRoot(), '.tools');

/** Dev-stack data (Temporal's SQLite file, embedded Postgres' data directory) is kept here across restarts. */
export const dataDir = (): string => process.env.PAYCONFIRM_DATA_DIR ?? join(projectRoot(), '.data');
