import { bundleWorkflowCode } from '@temporalio/worker';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../runtime/project-paths.js';

/** The workflows entry point: TypeScript sources in development, compiled JS in dist/. */
export function workflowsPath(): string {
  const ts = join(projectRoot(), 'workflows', 'index.ts');
  return existsSync(ts) ? ts : join(projectRoot(), 'dist', 'workflows', 'index.js');
}

/** Bundles the workflow code once (webpack); workers created from the bundle skip their own bundling. */
export async function bundleWorkflows(): Promise<{ code: string }> {
  const { code } = await bundleWorkflowCode({ workflowsPath: workflowsPath(), logger: quietLogger });
  return { code };
}

const noop = () => {};
const quietLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, log: noop };
