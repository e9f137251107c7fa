import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createAccount } from '../src/db/accounts.js';
import { creditPayment } from '../src/db/ledger.js';
import { createLogger } from '../src/logger.js';
import { startReceiptDeliverer } from '../src/notifications/email-receipts.js';
import { findReceipt } from '../src/notifications/receipt-outbox.js';
import { smtpTransportOptions } from '../src/notifications/smtp-transport.js';
import { eventually } from './support/eventually.js';
import { startTestMailpit, type TestMailpit } from './support/mailpit.js';
import { createTestContext, uniqueSuffix, type TestContext } from './support/test-context.js';

/**
 * SMTP credentials never cross the network in clear text: `smtp://user:pass@…` requires STARTTLS. Against a real
 * Mailpit that takes AUTH over plain text and offers no STARTTLS (the server a stripped EHLO or a misconfigured relay
 * looks like), the send fails before AUTH and nothing is delivered; against one that offers STARTTLS (a certificate
 * made here, trusted through the deliverer's CA option) the same URL is delivered.
 */
const FROM = 'Acme Billing <billing@acme.example>';
const DOMAIN = 'receipts.acme.example';
const CREDENTIALS = 'mailer:s3cret-pw';

let ctx: TestContext;
let plainAuthMailpit: TestMailpit;
let startTlsMailpit: TestMailpit;
let certPem: string;

beforeAll(async () => {
  const dir = mkdtempSync(join(inject('runDir'), 'smtp-tls-'));
  const [certFile, keyFile] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile,
  ], { stdio: 'ignore' });
  certPem = readFileSync(certFile, 'utf8');
  [ctx, plainAuthMailpit, startTlsMailpit] = await Promise.all([
    createTestContext('smtp-tls'),
    startTestMailpit({ ignoreDuplicateIds: false, smtpAuth: { acceptAny: true, allowInsecure: true } }),
    startTestMailpit({ ignoreDuplicateIds: false, smtpAuth: { acceptAny: true, allowInsecure: false }, smtpTls: { certFile, keyFile } }),
  ]);
});
afterAll(async () => {
  await Promise.allSettled([plainAuthMailpit?.stop(), startTlsMailpit?.stop(), ctx?.close()]);
});

const withCredentials = (mailpit: TestMailpit) => mailpit.smtpUrl.replace('smtp://', `smtp://${CREDENTIALS}@`);

/** A credited payment for an account with an address: its receipt row, pending. */
async function receiptDue(label: string): Promise<string> {
  const { account } = await createAccount(ctx.pool, { stripeCustomerId: `cus_${label}${uniqueSuffix()}`, name: label, email: `${label}-${uniqueSuffix()}@customer.example` });
  const paymentIntentId = `pi_${label}${uniqueSuffix()}`;
  await creditPayment(ctx.pool, { accountId: account.id, paymentIntentId, amountMinor: 1_500, currency: 'usd' });
  return `stripe:payment_intent:${paymentIntentId}`;
}

const deliverer = (smtpUrl: string, tlsCa?: string) =>
  startReceiptDeliverer({
    pool: ctx.pool, smtpUrl, from: FROM, messageIdDomain: DOMAIN, logger: createLogger({ level: 'silent' }),
    timeoutMs: 5_000, pollIntervalMs: 50, retry: { maxAttempts: 1 }, ...(tlsCa ? { tlsCa } : {}),
  });

describe('smtp:// with credentials requires STARTTLS', () => {
  it('a server without STARTTLS (AUTH over plain text allowed): the send fails before AUTH, nothing is delivered', async () => {
    const key = await receiptDue('plainauth');
    const d = deliverer(withCredentials(plainAuthMailpit));
    try {
      const dead = await eventually(() => findReceipt(ctx.pool, key), (r) => r?.status === 'dead', { description: 'the receipt refused' });
      expect(dead!.lastError).toMatch(/STARTTLS/i);
      expect(dead!.lastError).not.toContain('s3cret-pw');
    } finally {
      await d.stop();
    }
    expect(await plainAuthMailpit.messages()).toEqual([]);
    expect((await plainAuthMailpit.smtpStats()).accepted).toBe(0);
  });

  it('a server offering STARTTLS: the same credentials go over TLS and the receipt is delivered', async () => {
    const key = await receiptDue('starttls');
    const d = deliverer(withCredentials(startTlsMailpit), certPem);
    try {
      await eventually(() => findReceipt(ctx.pool, key), (r) => r?.status === 'sent', { description: 'the receipt sent over STARTTLS' });
    } finally {
      await d.stop();
    }
    expect(await startTlsMailpit.messages()).toHaveLength(1);
  });

  it('the rule: credentials on smtp:// → requireTLS; none (a local Mailpit) → plain allowed; smtps:// → TLS from the start', () => {
    const opts = (url: string) => smtpTransportOptions(url, { timeoutMs: 1_000 });
    expect(opts('smtp://u:p@mail.example:587').requireTLS).toBe(true);
    expect(opts('smtp://u@mail.example:587').requireTLS).toBe(true);
    expect(opts('smtp://127.0.0.1:1025').requireTLS).toBe(false);
    expect(opts('smtps://u:p@mail.example:465')).toMatchObject({ url: 'smtps://u:p@mail.example:465', requireTLS: false });
  });
});
