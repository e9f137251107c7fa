import { describe, expect, it } from 'vitest';
import { PayconfirmError } from '../../src/client/index.js';
import { clientFor, creditedBody, pendingBody, reply, startScriptedServer } from './scripted-server.js';

describe('confirmPayment answers', () => {
  it('sends the API key, user agent and JSON body, and maps a credited answer', async () => {
    const server = await startScriptedServer([reply.json(200, creditedBody)]);

    const result = await clientFor(server).confirmPayment('pi_1');

    expect(result).toEqual({
      status: 'credited',
      paymentIntentId: 'pi_1',
      accountId: 'acct_1',
      ledgerEntryId: 'le_1',
      amountMinor: 1500,
      currency: 'usd',
      creditedAt: '2025-01-02T03:04:05.000Z',
    });
    expect(server.requests).toHaveLength(1);
    const [request] = server.requests;
    expect(request).toMatchObject({
      method: 'POST',
      url: '/billing/confirm_payment',
      body: { payment_intent_id: 'pi_1' },
    });
    expect(request?.headers).toMatchObject({
      authorization: 'Bearer sk_test_client',
      'user-agent': 'payconfirm-client/0.1',
      'content-type': 'application/json',
    });
  });

  it('maps already_credited', async () => {
    const server = await startScriptedServer([reply.json(200, { ...creditedBody, status: 'already_credited' })]);

    const result = await clientFor(server).confirmPayment('pi_1');

    expect(result).toMatchObject({ status: 'already_credited', ledgerEntryId: 'le_1', amountMinor: 1500 });
  });

  it('maps a 202 pending answer, with Retry-After in milliseconds', async () => {
    const server = await startScriptedServer([
      reply.json(202, { ...pendingBody, reason: 'stripe_processing' }, {
        location: '/billing/payments/pi_1',
        'retry-after': '2',
      }),
    ]);

    const result = await clientFor(server).confirmPayment('pi_1');

    expect(result).toEqual({
      status: 'pending',
      paymentIntentId: 'pi_1',
      stage: 'crediting_ledger',
      reason: 'stripe_processing',
      pollUrl: '/billing/payments/pi_1',
      retryAfterMs: 2000,
    });
  });

  it('resolves a 409 not_payable as an outcome, without retrying', async () => {
    const server = await startScriptedServer([
      reply.json(409, {
        status: 'not_payable',
        payment_intent_id: 'pi_1',
        payment_intent_status: 'canceled',
        error: { code: 'not_payable', message: 'PaymentIntent is canceled', request_id: 'req_x' },
      }),
    ]);

    const result = await clientFor(server).confirmPayment('pi_1');

    expect(result).toEqual({ status: 'not_payable', paymentIntentId: 'pi_1', paymentIntentStatus: 'canceled' });
    expect(server.requests).toHaveLength(1);
  });

  it('rejects a payment status it does not know with unexpected_response, without retrying', async () => {
    const server = await startScriptedServer([reply.json(200, { ...creditedBody, status: 'refunded' })]);

    const rejection = clientFor(server).confirmPayment('pi_1');

    await expect(rejection).rejects.toBeInstanceOf(PayconfirmError);
    await expect(rejection).rejects.toMatchObject({ code: 'unexpected_response', httpStatus: 200, retryable: false });
    expect(server.requests).toHaveLength(1);
  });

  it('rejects a credited answer missing a field with unexpected_response', async () => {
    const { amount_minor: _omitted, ...bodyWithoutAmount } = creditedBody;
    const server = await startScriptedServer([reply.json(200, bodyWithoutAmount)]);

    await expect(clientFor(server).confirmPayment('pi_1')).rejects.toMatchObject({
      code: 'unexpected_response',
      message: expect.stringContaining('amount_minor'),
    });
  });
});

describe('getPayment', () => {
  it('GETs the payment and maps a 200 not_payable', async () => {
    const server = await startScriptedServer([
      reply.json(200, { status: 'not_payable', payment_intent_id: 'pi_2', payment_intent_status: 'canceled' }),
    ]);

    const result = await clientFor(server).getPayment('pi_2');

    expect(result).toEqual({ status: 'not_payable', paymentIntentId: 'pi_2', paymentIntentStatus: 'canceled' });
    expect(server.requests[0]).toMatchObject({ method: 'GET', url: '/billing/payments/pi_2' });
  });
});

describe('account endpoints', () => {
  it('getBalance maps the balances', async () => {
    const server = await startScriptedServer([
      reply.json(200, { account_id: 'acct_1', balances: [{ currency: 'usd', amount_minor: 1234, held_minor: 200, available_minor: 1034 }] }),
    ]);

    const balance = await clientFor(server).getBalance();

    expect(balance).toEqual({ accountId: 'acct_1', balances: [{ currency: 'usd', amountMinor: 1234, heldMinor: 200, availableMinor: 1034 }] });
    expect(server.requests[0]).toMatchObject({ method: 'GET', url: '/accounts/me/balance' });
  });

  it('listLedger passes limit and cursor and maps the page', async () => {
    const server = await startScriptedServer([
      reply.json(200, {
        entries: [
          {
            id: 'le_1',
            kind: 'payment_credit',
            amount_minor: 1500,
            currency: 'usd',
            payment_intent_id: 'pi_1',
            reference: null,
            created_at: '2025-01-02T03:04:05.000Z',
          },
        ],
        next_cursor: 'cur_2',
      }),
    ]);

    const page = await clientFor(server).listLedger({ limit: 1, cursor: 'cur_1' });

    expect(page).toEqual({
      entries: [
        {
          id: 'le_1',
          kind: 'payment_credit',
          amountMinor: 1500,
          currency: 'usd',
          paymentIntentId: 'pi_1',
          reference: null,
          createdAt: '2025-01-02T03:04:05.000Z',
        },
      ],
      nextCursor: 'cur_2',
    });
    expect(server.requests[0]).toMatchObject({ method: 'GET', url: '/accounts/me/ledger?limit=1&cursor=cur_1' });
  });
});
