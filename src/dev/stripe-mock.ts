import { freePort } from './free-port.js';
import { startManagedProcess, waitFor } from './managed-process.js';
import { requireFreePort } from './port-check.js';

export interface StripeMockOptions {
  /** From `ensureTool(STRIPE_MOCK)` (src/dev/go-tools.ts). */
  binaryPath: string;
  /** HTTP port on 127.0.0.1; omit for a free one. */
  port?: number;
  logFile?: string;
}

export interface RunningStripeMock {
  /** `http://127.0.0.1:<port>`: use as STRIPE_API_BASE. */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** stripe-mock accepts any "valid looking" test key (letters and digits after `sk_test_`). */
export const STRIPE_MOCK_SECRET_KEY = 'sk_test_123';

/**
 * Runs Stripe's own `stripe-mock`: a stateless server that validates every request against Stripe's OpenAPI
 * spec (unknown or malformed parameters answer 400) and answers with fixture objects. It listens for HTTP on
 * loopback only; its HTTPS listener, which would otherwise take the shared default port 12112, gets a port
 * the system picks, so several instances can run side by side.
 */
export async function startStripeMock(opts: StripeMockOptions): Promise<RunningStripeMock> {
  const port = opts.port ?? (await freePort());
  await requireFreePort(port, 'stripe-mock', 'STRIPE_MOCK_PORT');
  const url = `http://127.0.0.1:${port}`;
  const proc = startManagedProcess(opts.binaryPath, ['-http-addr', `127.0.0.1:${port}`, '-https-addr', '127.0.0.1:'], {
    ...(opts.logFile ? { logFile: opts.logFile } : {}),
  });
  let exitedEarly = false;
  void proc.exited.then(() => (exitedEarly = true));
  try {
    await waitFor(
      `stripe-mock on ${url}`,
      async () => {
        if (exitedEarly) throw new Error(`stripe-mock exited early${opts.logFile ? ` (see ${opts.logFile})` : ''}`);
        return stripeMockAnswers(url);
      },
      30_000,
      100,
    );
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { url, port, stop: () => proc.stop(5_000) };
}

/** True when stripe-mock (it names itself in a header) serves a valid request at `url`. */
export async function stripeMockAnswers(url: string): Promise<boolean> {
  const res = await fetch(`${url}/v1/balance`, {
    headers: { authorization: `Bearer ${STRIPE_MOCK_SECRET_KEY}` },
    signal: AbortSignal.timeout(1_000),
  });
  await res.body?.cancel();
  return res.ok && res.headers.has('stripe-mock-version');
}
