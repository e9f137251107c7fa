import { freePort } from './free-port.js';
import { startManagedProcess, waitFor } from './managed-process.js';
import { requireFreePort } from './port-check.js';

export interface MailpitOptions {
  /** From `ensureTool(MAILPIT)` (src/dev/go-tools.ts). */
  binaryPath: string;
  /** SMTP port on 127.0.0.1; omit for a free one. */
  smtpPort?: number;
  /** HTTP port (web UI and API) on 127.0.0.1; omit for a free one. */
  httpPort?: number;
  /** Its SQLite file; omit for a temporary one Mailpit deletes when it stops. */
  databaseFile?: string;
  /** `--ignore-duplicate-ids`: a message whose Message-ID is already stored is accepted (250) and dropped. */
  ignoreDuplicateIds: boolean;
  /**
   * SMTP AUTH: any user and password are taken (`--smtp-auth-accept-any`); `allowInsecure` lets AUTH run
   * over plain text (`--smtp-auth-allow-insecure`), the server a careless client would send a password to.
   */
  smtpAuth?: { acceptAny: true; allowInsecure: boolean };
  /** STARTTLS with this certificate and key (PEM files): `--smtp-tls-cert`, `--smtp-tls-key`. */
  smtpTls?: { certFile: string; keyFile: string };
  logFile?: string;
}

export interface RunningMailpit {
  /** `smtp://127.0.0.1:<port>`: use as SMTP_URL. */
  readonly smtpUrl: string;
  /** `http://127.0.0.1:<port>`: the web UI, and the API under /api/v1. */
  readonly httpUrl: string;
  /**
   * Whether this build serves its web UI's scripts. A `go install` build has none (Mailpit's release process builds
   * them with npm, outside the Go module): its page stays blank and the API is the way to read messages.
   */
  readonly hasWebUi: boolean;
  stop(): Promise<void>;
}

/**
 * Runs Mailpit (built from its Go module, src/dev/go-tools.ts): a real SMTP server that keeps every message it
 * accepts, readable over HTTP (`/api/v1/messages`). Loopback only, no version check (no network), any sender.
 */
export async function startMailpit(opts: MailpitOptions): Promise<RunningMailpit> {
  const smtpPort = opts.smtpPort ?? (await freePort());
  const httpPort = opts.httpPort ?? (await freePort());
  await requireFreePort(smtpPort, 'Mailpit SMTP', 'MAILPIT_SMTP_PORT');
  await requireFreePort(httpPort, 'Mailpit web UI', 'MAILPIT_UI_PORT');
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  const args = ['--smtp', `127.0.0.1:${smtpPort}`, '--listen', `127.0.0.1:${httpPort}`, '--disable-version-check'];
  if (opts.databaseFile) args.push('--database', opts.databaseFile);
  if (opts.ignoreDuplicateIds) args.push('--ignore-duplicate-ids');
  if (opts.smtpAuth) args.push('--smtp-auth-accept-any', ...(opts.smtpAuth.allowInsecure ? ['--smtp-auth-allow-insecure'] : []));
  if (opts.smtpTls) args.push('--smtp-tls-cert', opts.smtpTls.certFile, '--smtp-tls-key', opts.smtpTls.keyFile);
  const proc = startManagedProcess(opts.binaryPath, args, { ...(opts.logFile ? { logFile: opts.logFile } : {}) });
  let exitedEarly = false;
  void proc.exited.then(() => (exitedEarly = true));
  try {
    await waitFor(
      `Mailpit on ${httpUrl}`,
      async () => {
        if (exitedEarly) throw new Error(`Mailpit exited early${opts.logFile ? ` (see ${opts.logFile})` : ''}`);
        const res = await fetch(`${httpUrl}/readyz`, { signal: AbortSignal.timeout(1_000) });
        await res.body?.cancel();
        return res.ok;
      },
      30_000,
      100,
    );
  } catch (err) {
    await proc.stop();
    throw err;
  }
  const ui = await fetch(`${httpUrl}/dist/app.js`, { method: 'HEAD', signal: AbortSignal.timeout(2_000) }).catch(() => null);
  return { smtpUrl: `smtp://127.0.0.1:${smtpPort}`, httpUrl, hasWebUi: ui?.ok === true, stop: () => proc.stop(5_000) };
}
