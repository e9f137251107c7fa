import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataDir } from './project-paths.js';

/**
 * Where `npm start` leaves the running dev stack's connection settings (`.data/dev-stack.env`, readable by the owner
 * only, removed when the stack stops), so `npm run cli -- …` works against it with nothing exported. A variable
 * already set in the environment always wins; PAYCONFIRM_DEV_STACK=ignore makes the CLI skip the file.
 */
export const DEV_STACK_ENV_FILE = 'dev-stack.env';

/** The settings the CLI needs to reach the stack (names of the service's own variables). */
export const DEV_STACK_VARIABLES = [
  'DATABASE_URL',
  'DATABASE_SCHEMA',
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_TASK_QUEUE',
  'STRIPE_SECRET_KEY',
  'STRIPE_API_BASE',
  'CREDIT_PAYMENT_INTENTS',
  'STRIPE_BALANCE_MIRROR',
  'PAYCONFIRM_API_URL',
] as const;

const fileIn = (dir: string) => join(dir, DEV_STACK_ENV_FILE);

export function writeDevStackEnv(values: Partial<Record<(typeof DEV_STACK_VARIABLES)[number], string | undefined>>, dir = dataDir()): void {
  const lines = DEV_STACK_VARIABLES.filter((k) => values[k] !== undefined && values[k] !== '').map((k) => `${k}=${values[k]}`);
  writeFileSync(fileIn(dir), `# written by npm start; removed when it stops\n${lines.join('\n')}\n`, { mode: 0o600 });
}

export function removeDevStackEnv(dir = dataDir()): void {
  rmSync(fileIn(dir), { force: true });
}

/** The environment with the running dev stack's settings filling the variables it lacks (none when no stack runs). */
export function withDevStackDefaults(env: NodeJS.ProcessEnv, dir = dataDir()): NodeJS.ProcessEnv {
  if (env.PAYCONFIRM_DEV_STACK === 'ignore' || !existsSync(fileIn(dir))) return env;
  const defaults: Record<string, string> = {};
  for (const line of readFileSync(fileIn(dir), 'utf8').split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line);
    if (match && (DEV_STACK_VARIABLES as readonly string[]).includes(match[1]!)) defaults[match[1]!] = match[2]!;
  }
  return { ...defaults, ...Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== '')) };
}
