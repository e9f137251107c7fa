import { runner } from 'node-pg-migrate';
import { join } from 'node:path';
import { projectRoot } from '../runtime/project-paths.js';

export const migrationsDir = (): string => join(projectRoot(), 'src', 'db', 'migrations');

/**
 * Applies pending SQL migrations (node-pg-migrate: ordered, recorded in `pgmigrations`, guarded by an
 * advisory lock so concurrent starters wait instead of racing).
 */
export async function migrateUp(opts: { url: string; schema?: string; log?: (line: string) => void }): Promise<string[]> {
  const applied = await runner({
    databaseUrl: opts.url,
    dir: migrationsDir(),
    direction: 'up',
    migrationsTable: 'pgmigrations',
    schema: opts.schema ?? 'public',
    createSchema: true,
    checkOrder: true,
    singleTransaction: true,
    advisoryLockMode: 'wait',
    log: () => {},
    logger: { debug: () => {}, info: (m: string) => opts.log?.(m), warn: (m: string) => opts.log?.(m), error: (m: string) => opts.log?.(m) },
  });
  return applied.map((m) => m.name);
}
