/**
 * A tiny real HTTP server, scripted per test, standing in for the Payconfirm API in the client's
 * own unit tests. Each incoming request consumes the next scripted reply.
 */
import { createHook } from 'node:async_hooks';
import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { onTestFinished } from 'vitest';
import { PayconfirmClient } from '../../src/client/index.js';
import type { PayconfirmClientOptions } from '../../src/client/index.js';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
  /** `performance.now()` when the request arrived. */
  receivedAt: number;
}

export type Reply = (response: http.ServerResponse, request: http.IncomingMessage) => void;

let requestCounter = 0;

export const reply = {
  json(httpStatus: number, body: unknown, headers: Record<string, string> = {}): Reply {
    return (response) => {
      response.writeHead(httpStatus, {
        'content-type': 'application/json',
        'x-request-id': `req_${++requestCounter}`,
        ...headers,
      });
      response.end(JSON.stringify(body));
    };
  },
  apiError(httpStatus: number, code: string, headers: Record<string, string> = {}): Reply {
    return reply.json(httpStatus, { error: { code, message: `${code} happened`, request_id: 'req_body' } }, headers);
  },
  /** Cuts the connection without answering: a network error for the client. */
  destroySocket(): Reply {
    return (_response, request) => request.socket.destroy();
  },
  /** Never answers (the connection is cut when the server closes). */
  hang(): Reply {
    return () => {};
  },
};

export interface ScriptedServer {
  baseUrl: string;
  requests: RecordedRequest[];
  /** Resolves once `count` requests have arrived. */
  waitForRequests(count: number): Promise<void>;
}

/**
 * Starts a server on 127.0.0.1:0 answering with `script` in order, then `whenScriptEnds`
 * (by default a 500 that makes an unexpected extra request visible). Closed when the test ends.
 */
export async function startScriptedServer(
  script: Reply[],
  whenScriptEnds: Reply = reply.apiError(500, 'script_exhausted'),
): Promise<ScriptedServer> {
  const requests: RecordedRequest[] = [];
  const arrivals = new EventEmitter();
  const remainingReplies = [...script];

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      requests.push({
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body: text ? JSON.parse(text) : null,
        receivedAt: performance.now(),
      });
      arrivals.emit('request');
      (remainingReplies.shift() ?? whenScriptEnds)(response, request);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    async waitForRequests(count) {
      while (requests.length < count) await once(arrivals, 'request');
    },
  };
}

/** A client of `server` that retries at once (no jitter delay) unless told otherwise. */
export function clientFor(
  server: ScriptedServer,
  options: Partial<PayconfirmClientOptions> = {},
): PayconfirmClient {
  return new PayconfirmClient({
    baseUrl: server.baseUrl,
    apiKey: 'sk_test_client',
    random: () => 0,
    ...options,
  });
}

export interface TimerTracker {
  /** Timers created since tracking began that are still armed and would keep the process alive. */
  armedTimerCount(): Promise<number>;
}

/** Starts recording every timer created from now on (until the test ends). */
export function trackNewTimers(): TimerTracker {
  const createdTimers = new Map<number, NodeJS.Timeout>();
  const hook = createHook({
    init(asyncId, type, _triggerAsyncId, resource) {
      if (type === 'Timeout') createdTimers.set(asyncId, resource as NodeJS.Timeout);
    },
    destroy(asyncId) {
      createdTimers.delete(asyncId); // a timer is destroyed when it fires or is cleared
    },
  }).enable();
  onTestFinished(() => void hook.disable());
  return {
    async armedTimerCount() {
      // Node runs destroy hooks from an immediate queued at clearTimeout time; let it run first.
      await new Promise((resolve) => setImmediate(resolve));
      return [...createdTimers.values()].filter((timer) => timer.hasRef()).length;
    },
  };
}

export const creditedBody = {
  status: 'credited',
  payment_intent_id: 'pi_1',
  account_id: 'acct_1',
  ledger_entry_id: 'le_1',
  amount_minor: 1500,
  currency: 'usd',
  credited_at: '2025-01-02T03:04:05.000Z',
};

export const pendingBody = {
  status: 'pending',
  payment_intent_id: 'pi_1',
  stage: 'crediting_ledger',
  reason: null,
  poll_url: '/billing/payments/pi_1',
};
