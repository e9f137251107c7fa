import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { toolsDir } from '../runtime/project-paths.js';

/**
 * Go-built developer tools, pinned in one place. Each is resolved in this order:
 * its env var → the name on PATH → a cached build in `.tools/` → a fresh `go install` of the pinned module.
 * No prebuilt binary is downloaded: the build uses only the Go module proxy.
 */
export interface GoTool {
  readonly binaryName: string;
  readonly modulePath: string;
  /** Pinned: later Temporal CLI versions carry `replace` directives that `go install` refuses. */
  readonly version: string;
  readonly envVar: string;
  /** The Go toolchain the pinned version needs, when newer than the project's baseline (1.25). */
  readonly minGo?: string;
}

export const TEMPORAL_CLI: GoTool = {
  binaryName: 'temporal',
  modulePath: 'github.com/temporalio/cli/cmd/temporal',
  version: 'v1.5.1',
  envVar: 'TEMPORAL_CLI_PATH',
};

export const STRIPE_MOCK: GoTool = {
  binaryName: 'stripe-mock',
  modulePath: 'github.com/stripe/stripe-mock',
  version: 'v0.203.0',
  envVar: 'STRIPE_MOCK_PATH',
};

/**
 * Prometheus's rule checker, for the alert rules' tests (deploy/prometheus/). Prometheus 3.x publishes its Go module
 * as v0.3xx.y (Prometheus 3.16.0 ↔ v0.316.0). v0.316.0's go.mod has no `replace` / `exclude` directives, which
 * `go install …@version` refuses (v0.310.0 to v0.315.1 carry both); it needs Go ≥ 1.26.7.
 */
export const PROMTOOL: GoTool = {
  binaryName: 'promtool',
  modulePath: 'github.com/prometheus/prometheus/cmd/promtool',
  version: 'v0.316.0',
  envVar: 'PROMTOOL_PATH',
  minGo: '1.26.7',
};

/**
 * Mailpit: an SMTP server with a web UI and an HTTP API that stores what it receives — the e-mail receipts' real
 * SMTP server in the dev stack and the tests. v1.33.1's go.mod has no `replace` directives and needs Go ≥ 1.26.0.
 * Its web UI's script bundle is built by npm in Mailpit's own release process and is not part of the Go module, so a
 * `go install` build serves the HTTP API (what the tests read) and a UI page without its scripts.
 */
export const MAILPIT: GoTool = {
  binaryName: 'mailpit',
  modulePath: 'github.com/axllent/mailpit',
  version: 'v1.33.1',
  envVar: 'MAILPIT_PATH',
  minGo: '1.26.0',
};

export class ToolUnavailableError extends Error {
  override readonly name = 'ToolUnavailableError';
}

const isExecutable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

export function findOnPath(binaryName: string, pathEnv = process.env.PATH ?? ''): string | undefined {
  return pathEnv
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, binaryName))
    .find(isExecutable);
}

export const cachedToolPath = (tool: GoTool): string => join(toolsDir(), `${tool.binaryName}-${tool.version}`, tool.binaryName);

/** Where the tool would come from without building, or undefined. */
export function locateTool(tool: GoTool, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fromEnv = env[tool.envVar];
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new ToolUnavailableError(`${tool.envVar}=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  return findOnPath(tool.binaryName, env.PATH) ?? (isExecutable(cachedToolPath(tool)) ? cachedToolPath(tool) : undefined);
}

/** Resolves the tool, building the pinned version with the Go toolchain when nothing else has it. */
export async function ensureTool(tool: GoTool, log: (line: string) => void = () => {}): Promise<string> {
  const found = locateTool(tool);
  if (found) return found;
  const go = findOnPath('go') ?? (isExecutable('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  if (!go) {
    throw new ToolUnavailableError(
      `${tool.binaryName} not found. Install it (or set ${tool.envVar} to its path), or install Go ≥ ${tool.minGo ?? '1.25'} so payconfirm can build ${tool.modulePath}@${tool.version}.`,
    );
  }
  log(`building ${tool.modulePath}@${tool.version} with ${go} (first run only; cached in .tools/)…`);
  const target = cachedToolPath(tool);
  mkdirSync(toolsDir(), { recursive: true });
  const staging = mkdtempSync(join(toolsDir(), `.build-${tool.binaryName}-`));
  try {
    await runGoInstall(go, `${tool.modulePath}@${tool.version}`, staging);
    mkdirSync(join(target, '..'), { recursive: true });
    // rename is atomic: a concurrent build never leaves a half-written binary behind.
    renameSync(join(staging, tool.binaryName), target);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  if (!existsSync(target)) throw new ToolUnavailableError(`building ${tool.binaryName} produced no binary`);
  return target;
}

function runGoInstall(go: string, moduleAtVersion: string, gobin: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(go, ['install', moduleAtVersion], {
      env: { ...process.env, GOBIN: gobin, CGO_ENABLED: '0', GOFLAGS: `${process.env.GOFLAGS ?? ''} -buildvcs=false`.trim() },
      stdio: ['ignore', 'inherit', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new ToolUnavailableError(`go install ${moduleAtVersion} failed (exit ${code}):\n${stderr}`)),
    );
  });
}
