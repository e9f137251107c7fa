import { describe, expect, it } from 'vitest';
import {
  PayconfirmApiError,
  PayconfirmNetworkError,
  PayconfirmTimeoutError,
} from '../../src/client/index.js';
import { clientFor, creditedBody, reply, startScriptedServer } from './scripted-server.js';

describe('retries', () => {
  it('retries a 503 and resolves with the next answer', async () => {
    const server = await startScriptedServer([
      reply.apiError(503, 'temporal_unavailable', { 'retry-after': '0' }),
      reply.json(200, creditedBody),
    ]);

    const result = await clientFor(server).confirmPayment('pi_1');

    expect(result.status).toBe('credited');
    expect(server.requests).toHaveLength(2);
  });

  it('waits at least Retry-After: 1 before retrying a 429', async () => {
    const server = await startScriptedServer([
      reply.apiError(429, 'rate_limited', { 'retry-after': '1' }),
      reply.json(200, creditedBody),
    ]);

    await clientFor(server).confirmPayment('pi_1');

    const [first, second] = server.requests;
    // Timers run on a whole-millisecond clock, so allow for sub-millisecond rounding.
    expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(995);
  });

  it.each([
    [400, 'invalid_request'],
    [401, 'unauthenticated'],
    [403, 'forbidden'],
    [404, 'payment_intent_not_found'],
    [409, 'payment_rejected'],
  ])('rejects a %i (%s) at once with a PayconfirmApiError, after exactly 1 request', async (httpStatus, code) => {
    const server = await startScriptedServer([reply.apiError(httpStatus, code)]);

    const rejection = clientFor(server).confirmPayment('pi_1');

    await expect(rejection).rejects.toBeInstanceOf(PayconfirmApiError);
    await expect(rejection).rejects.toMatchObject({
      code,
      httpStatus,
      requestId: expect.stringMatching(/^req_\d+$/),
      retryable: false,
    });
    expect(server.requests).toHaveLength(1);
  });

  it('retries when the server cuts the connection', async () => {
    const server = await startScriptedServer([reply.destroySocket(), reply.json(200, creditedBody)]);

    const result = await clientFor(server).confirmPayment('pi_1');

    expect(result.status).toBe('credited');
    expect(server.requests).toHaveLength(2);
  });

  it('rejects with the last error once maxAttempts is exhausted', async () => {
    const server = await startScriptedServer([
      reply.apiError(503, 'temporal_unavailable'),
      reply.apiError(502, 'bad_gateway'),
      reply.apiError(500, 'internal_error'),
    ]);

    const rejection = clientFor(server, { retry: { maxAttempts: 3 } }).confirmPayment('pi_1');

    await expect(rejection).rejects.toBeInstanceOf(PayconfirmApiError);
    await expect(rejection).rejects.toMatchObject({ code: 'internal_error', httpStatus: 500, retryable: true });
    expect(server.requests).toHaveLength(3);
  });

  it('rejects with a retryable network error once every attempt lost its connection', async () => {
    const server = await startScriptedServer([reply.destroySocket(), reply.destroySocket()]);

    const rejection = clientFor(server, { retry: { maxAttempts: 2 } }).getBalance();

    await expect(rejection).rejects.toBeInstanceOf(PayconfirmNetworkError);
    await expect(rejection).rejects.toMatchObject({ code: 'network_error', httpStatus: null, retryable: true });
    expect(server.requests).toHaveLength(2);
  });

  it('gives a 5xx without a JSON error body an http_<status> code and retries it', async () => {
    const server = await startScriptedServer([
      (response) => response.writeHead(502, { 'content-type': 'text/html' }).end('<h1>Bad gateway</h1>'),
      reply.json(200, creditedBody),
    ]);

    await expect(clientFor(server).confirmPayment('pi_1')).resolves.toMatchObject({ status: 'credited' });
    expect(server.requests).toHaveLength(2);
  });
});

describe('per-attempt timeout', () => {
  it('abandons an attempt that gets no answer within timeoutMs and retries', async () => {
    const server = await startScriptedServer([reply.hang(), reply.json(200, creditedBody)]);

    const result = await clientFor(server, { timeoutMs: 100 }).confirmPayment('pi_1');

    expect(result.status).toBe('credited');
    expect(server.requests).toHaveLength(2);
  });

  it('rejects with a PayconfirmTimeoutError when every attempt times out', async () => {
    const server = await startScriptedServer([reply.hang(), reply.hang()]);

    const rejection = clientFor(server, { timeoutMs: 100, retry: { maxAttempts: 2 } }).confirmPayment('pi_1');

    await expect(rejection).rejects.toBeInstanceOf(PayconfirmTimeoutError);
    await expect(rejection).rejects.toMatchObject({ code: 'timeout', httpStatus: null, retryable: true });
    expect(server.requests).toHaveLength(2);
  });
});
