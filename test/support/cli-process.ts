import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/payconfirm.mjs', import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON, or null when it is not JSON. */
  json: any;
}

/** Runs `payconfirm …` as a real subprocess (from source), with only the environment given (PATH and HOME kept). */
export function runPayconfirm(args: string[], env: Record<string, string | undefined>): Promise<CliRun> {
  // A dev stack a developer runs beside the tests must not fill in what a test leaves out on purpose.
  const base: Record<string, string | undefined> = { PATH: process.env.PATH, HOME: process.env.HOME, PAYCONFIRM_CLI_FROM_SOURCE: '1', PAYCONFIRM_DEV_STACK: 'ignore' };
  const merged = Object.fromEntries(Object.entries({ ...base, ...env }).filter(([, v]) => v !== undefined)) as Record<string, string>;
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: merged, timeout: 120_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      let json: unknown = null;
      try {
        json = JSON.parse(stdout);
      } catch {
        // not JSON output
      }
      resolve({ code, stdout, stderr, json });
    });
  });
}
