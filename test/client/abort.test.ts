import { afterEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { PayconfirmAbortError, PayconfirmTimeoutError } from '../../src/client/index.js';
import type { PayconfirmClient } from '../../src/client/index.js';
import {
  clientFor,
  pendingBody,
  reply,
  startScriptedServer,
  trackNewTimers,
  type Reply,
  type ScriptedServer,
} from './scripted-server.js';

const LONG_DELAY_MS = 30_000;

afterEach(() => {
  vi.restoreAllMocks();
});

/**
 * Starts `call`, aborts it once `isWaiting` holds, and checks it rejects with the abort error
 * within a second, after the one request, leaving no timer behind.
 */
async function expectPromptAbort(options: {
  script: Reply[];
  call: (client: PayconfirmClient, signal: AbortSignal) => Promise<unknown>;
  isWaiting: (server: ScriptedServer) => boolean;
}): Promise<void> {
  const server = await startScriptedServer(options.script);
  const timers = trackNewTimers();
  const controller = new AbortController();
  const rejection = options.call(clientFor(server), controller.signal);
  rejection.catch(() => {}); // asserted below

  await vi.waitFor(() => expect(options.isWaiting(server)).toBe(true));
  const abortedAt = performance.now();
  controller.abort();

  await expect(rejection).rejects.toBeInstanceOf(PayconfirmAbortError);
  await expect(rejection).rejects.toMatchObject({ name: 'AbortError', code: 'aborted', retryable: false });
  expect(performance.now() - abortedAt).toBeLessThan(1000);
  expect(await timers.armedTimerCount()).toBe(0);
  expect(server.requests).toHaveLength(1);
}

/** Whether a timer of exactly `delayMs` has been scheduled: here, the client's sleep. */
function hasScheduledTimerOf(delayMs: number, setTimeoutSpy: MockInstance): () => boolean {
  return () => setTimeoutSpy.mock.calls.some(([, delay]) => delay === delayMs);
}

describe('aborting a call', () => {
  it('rejects promptly during a backoff sleep', async () => {
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    await expectPromptAbort({
      script: [reply.apiError(503, 'temporal_unavailable', { 'retry-after': String(LONG_DELAY_MS / 1000) })],
      call: (client, signal) => client.confirmPayment('pi_1', { signal }),
      isWaiting: hasScheduledTimerOf(LONG_DELAY_MS, setTimeoutSpy),
    });
  });

  it('rejects promptly during a poll interval', async () => {
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    await expectPromptAbort({
      script: [reply.json(202, pendingBody)],
      call: (client, signal) =>
        client.confirmPayment('pi_1', { signal, wait: true, pollIntervalMs: LONG_DELAY_MS }),
      isWaiting: hasScheduledTimerOf(LONG_DELAY_MS, setTimeoutSpy),
    });
  });

  it('rejects promptly while a request hangs', async () => {
    await expectPromptAbort({
      script: [reply.hang()],
      call: (client, signal) => client.getPayment('pi_1', { signal }),
      isWaiting: (server) => server.requests.length === 1,
    });
  });

  it('rejects at once, without a request, when the signal is already aborted', async () => {
    const server = await startScriptedServer([]);

    const rejection = clientFor(server).getBalance({ signal: AbortSignal.abort() });

    await expect(rejection).rejects.toBeInstanceOf(PayconfirmAbortError);
    expect(server.requests).toHaveLength(0);
  });
});

describe('whole-call timeoutMs', () => {
  it('rejects with a PayconfirmTimeoutError once the call deadline passes, without retrying', async () => {
    const server = await startScriptedServer([reply.hang()]);
    const timers = trackNewTimers();

    const rejection = clientFor(server).confirmPayment('pi_1', { timeoutMs: 100 });

    await expect(rejection).rejects.toBeInstanceOf(PayconfirmTimeoutError);
    await expect(rejection).rejects.toMatchObject({ code: 'timeout', message: expect.stringContaining('100 ms') });
    expect(server.requests).toHaveLength(1);
    expect(await timers.armedTimerCount()).toBe(0);
  });
});
