import { describe, expect, it } from 'vitest';
import { clientFor, creditedBody, pendingBody, reply, startScriptedServer } from './scripted-server.js';

describe('confirmPayment with wait', () => {
  it('wait: true polls the poll_url, spaced by pollIntervalMs, until the payment settles', async () => {
    const server = await startScriptedServer([
      reply.json(202, { ...pendingBody, stage: 'confirming' }),
      reply.json(200, pendingBody),
      reply.json(200, creditedBody),
    ]);

    const result = await clientFor(server).confirmPayment('pi_1', { wait: true, pollIntervalMs: 50 });

    expect(result).toMatchObject({ status: 'credited', ledgerEntryId: 'le_1' });
    expect(server.requests.map((request) => `${request.method} ${request.url}`)).toEqual([
      'POST /billing/confirm_payment',
      'GET /billing/payments/pi_1',
      'GET /billing/payments/pi_1',
    ]);
    const [, firstPoll, secondPoll] = server.requests;
    expect(secondPoll!.receivedAt - firstPoll!.receivedAt).toBeGreaterThanOrEqual(45);
  });

  it('wait: 300 returns the last pending answer once the deadline passes, even before Retry-After', async () => {
    const server = await startScriptedServer(
      [reply.json(202, pendingBody, { 'retry-after': '1' })],
      reply.json(200, { ...pendingBody, stage: 'still_confirming' }),
    );
    const startedAt = performance.now();

    const result = await clientFor(server).confirmPayment('pi_1', { wait: 300, pollIntervalMs: 50 });

    const elapsedMs = performance.now() - startedAt;
    expect(result).toMatchObject({ status: 'pending', stage: 'still_confirming' });
    expect(elapsedMs).toBeGreaterThanOrEqual(295);
    expect(elapsedMs).toBeLessThan(1000);
  });

  it('without wait returns the first pending answer', async () => {
    const server = await startScriptedServer([reply.json(202, pendingBody)]);

    const result = await clientFor(server).confirmPayment('pi_1');

    expect(result.status).toBe('pending');
    expect(server.requests).toHaveLength(1);
  });
});
