import { ConfigError } from '../config.js';
import { scrubSecrets } from '../logger.js';
import { TemporalUnreachableError } from '../temporal/connection.js';

/** A reason the process cannot start, told to the operator in one line. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

/**
 * Runs a process entry point: a configuration or connection problem prints one clear line
 * (`payconfirm <name>: …`, secrets scrubbed) and exits 1; anything else prints its message and exits 1.
 */
export function runMain(name: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    const known = err instanceof ConfigError || err instanceof StartupError || err instanceof TemporalUnreachableError;
    const message = err instanceof ConfigError ? `invalid configuration: ${err.message}` : String((err as Error)?.message ?? err);
    process.stderr.write(`payconfirm ${name}: ${scrubSecrets(message)}${known ? '' : ' (unexpected)'}\n`);
    process.exit(1);
  });
}
