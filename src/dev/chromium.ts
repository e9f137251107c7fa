import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { findOnPath } from './go-tools.js';

/**
 * The Chromium the browser test drives through playwright-core (which downloads no browser of its own).
 * Resolved in this order: `CHROMIUM_PATH` → /usr/bin/chromium → `chromium`, `chromium-browser`,
 * `google-chrome`, `google-chrome-stable` on PATH. When none is found and this is root on a Debian or
 * Ubuntu machine with apt-get (a fresh CI box), the distribution's `chromium` package is installed.
 */
export class ChromiumUnavailableError extends Error {
  override readonly name = 'ChromiumUnavailableError';
}

const CANDIDATE_NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];
const WELL_KNOWN_PATH = '/usr/bin/chromium';

/** An executable file at `path` (findOnPath's check, with the file's own folder as the search path). */
const isExecutable = (path: string): boolean => findOnPath(basename(path), dirname(path)) !== undefined;

/** Where Chromium is, without installing anything; undefined when there is none. */
export function locateChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fromEnv = env.CHROMIUM_PATH;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new ChromiumUnavailableError(`CHROMIUM_PATH=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  if (isExecutable(WELL_KNOWN_PATH)) return WELL_KNOWN_PATH;
  for (const name of CANDIDATE_NAMES) {
    const found = findOnPath(name, env.PATH);
    if (found) return found;
  }
  return undefined;
}

/** True where `apt-get install chromium` can work unattended: root, apt-get present, Debian or Ubuntu. */
function canInstallWithApt(): boolean {
  if (process.getuid?.() !== 0 || !findOnPath('apt-get')) return false;
  return existsSync('/etc/debian_version');
}

function run(command: string, args: string[], log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    let tail = '';
    const keep = (chunk: Buffer) => (tail = (tail + chunk.toString()).slice(-4_000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new ChromiumUnavailableError(`${command} ${args.join(' ')} exited with ${code}:\n${tail.trim()}`)),
    );
    log(`${command} ${args.join(' ')}`);
  });
}

/** Resolves Chromium, installing the distribution's package when that is possible; otherwise a clear error. */
export async function ensureChromium(log: (line: string) => void = () => {}): Promise<string> {
  const found = locateChromium();
  if (found) return found;
  if (!canInstallWithApt()) {
    throw new ChromiumUnavailableError(
      'Chromium not found for the browser test. Install it (Debian/Ubuntu: `sudo apt-get install chromium`) or set CHROMIUM_PATH to a Chromium or Chrome executable.',
    );
  }
  log('Chromium not found: installing the distribution package `chromium` with apt-get (first run only)…');
  await run('apt-get', ['update'], log);
  await run('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], log);
  const installed = locateChromium();
  if (!installed) throw new ChromiumUnavailableError('apt-get installed `chromium` but no chromium executable was found afterwards');
  return installed;
}

/** Flags for a headless, quiet, sandbox-less run (containers; CI runs as root). */
export const CHROMIUM_HEADLESS_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
