import { createHash } from 'node:crypto';
import nodemailer from 'nodemailer';
import type { Pool } from '../db/pool.js';
import { scrubSecrets, type Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import {
  DEFAULT_OUTBOX_RETRY_POLICY,
  loopTuningOf,
  startOutboxDeliverer,
  type OutboxAttemptResult,
  type OutboxDeliverer,
  type OutboxLoopTuning,
  type OutboxRetryPolicy,
} from './outbox-deliverer.js';
import type { ClaimedRow, OutboxTable } from './outbox-rows.js';
import { smtpTransportOptions } from './smtp-transport.js';

/**
 * E-mail receipts: one per payment credit, written by the ledger trigger into `outgoing_emails`
 * (src/db/migrations/*_email_receipts.sql) and sent through SMTP by the deliverer below, in the worker process.
 *
 * At least once, deduplicated by the receiver: every attempt carries the same Message-ID, derived from the movement's
 * key. SMTP cannot tell a sender that died between the server's 250 and its own record whether the message arrived,
 * so after such a crash the receipt is sent again; the receiving side (a mail store that drops a Message-ID it
 * holds, Mailpit's --ignore-duplicate-ids in dev and tests) keeps one.
 */
export const EMAIL_RECEIPTS: OutboxTable = { name: 'outgoing_emails', doneStatus: 'sent', doneAtColumn: 'sent_at' };

export type ReceiptStatus = 'pending' | 'sent' | 'dead' | 'skipped';

/** What the trigger stores: the receipt's content, money as integer minor units plus a lower-case currency. */
export interface ReceiptPayload {
  to: string;
  account_id: string;
  account_name: string | null;
  amount_minor: number;
  currency: string;
  payment_intent_id: string;
  idempotency_key: string;
  created_at: string;
}

/**
 * The receipt's Message-ID: `<32 hex of SHA-256(movement key)@domain>`. A movement key (`stripe:payment_intent:pi_…`)
 * holds `:`, which a Message-ID's left part (RFC 5322 dot-atom) may not; its digest is stable and opaque.
 */
export const receiptMessageId = (movementKey: string, domain: string): string =>
  `<${createHash('sha256').update(movementKey, 'utf8').digest('hex').slice(0, 32)}@${domain}>`;

/** `2500, 'usd'` → `25.00 USD`; `500, 'jpy'` → `500 JPY` (ISO 4217 minor-unit digits, as the runtime knows them). */
export function formatMinor(amountMinor: number, currency: string): string {
  const code = currency.toUpperCase();
  const digits = new Intl.NumberFormat('en', { style: 'currency', currency: code }).resolvedOptions().maximumFractionDigits ?? 2;
  const sign = amountMinor < 0 ? '-' : '';
  const abs = String(Math.abs(amountMinor)).padStart(digits + 1, '0');
  const whole = (digits === 0 ? abs : abs.slice(0, -digits)).replace(/\B(?=(\d{3})+$)/g, ',');
  return `${sign}${whole}${digits === 0 ? '' : `.${abs.slice(-digits)}`} ${code}`;
}

export function renderReceipt(p: ReceiptPayload): { subject: string; text: string } {
  const amount = formatMinor(p.amount_minor, p.currency);
  return {
    subject: `Receipt: ${amount} credited to your account`,
    text: [
      `Hello${p.account_name ? ` ${p.account_name}` : ''},`,
      '',
      `your payment was received and ${amount} was credited to your account.`,
      '',
      `Amount:   ${amount}`,
      `Payment:  ${p.payment_intent_id}`,
      `Account:  ${p.account_id}`,
      `Credited: ${p.created_at}`,
      '',
      'This receipt is sent once per payment; a copy with the same Message-ID is the same receipt.',
    ].join('\n'),
  };
}

/** Where receipts go, fit for a log line: scheme, host and port — never the user or password. */
export function describeSmtpServer(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}`;
}

export interface ReceiptDelivererOptions extends OutboxLoopTuning {
  pool: Pool;
  /**
   * SMTP_URL: `smtp://user:pass@host:port` (STARTTLS required), `smtp://host:port` (no credentials: STARTTLS when
   * offered, plain otherwise) or `smtps://…` (TLS from the start); the rule is src/notifications/smtp-transport.ts.
   */
  smtpUrl: string;
  /** The PEM of a CA to trust beyond the system's, for the SMTP server's certificate. */
  tlsCa?: string;
  /** RECEIPT_FROM. */
  from: string;
  /** RECEIPT_MESSAGE_ID_DOMAIN. */
  messageIdDomain: string;
  logger: Logger;
  metrics?: Metrics;
  /** SMTP_TIMEOUT_MS: connecting, the greeting, and each wait for an answer. Default 10 s. */
  timeoutMs?: number;
  retry?: Partial<OutboxRetryPolicy>;
}

/**
 * Sends due receipts through SMTP, sharing the outbox loop (claims with a lease, backoff, dead letters) with the
 * notification deliverer. A 250 → `sent`. A permanent refusal (5xx) → `dead` at once (an operator looks); anything
 * else (4xx, no connection, a timeout) is retried with backoff, `dead` after `maxAttempts`.
 */
export function startReceiptDeliverer(opts: ReceiptDelivererOptions): OutboxDeliverer {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const retry: OutboxRetryPolicy = { ...DEFAULT_OUTBOX_RETRY_POLICY, ...opts.retry };
  const server = describeSmtpServer(opts.smtpUrl);
  const transport = nodemailer.createTransport(smtpTransportOptions(opts.smtpUrl, { timeoutMs, ...(opts.tlsCa ? { tlsCa: opts.tlsCa } : {}) }));
  const { metrics } = opts;

  async function attempt(row: ClaimedRow): Promise<OutboxAttemptResult> {
    const p = row.payload as ReceiptPayload;
    const { subject, text } = renderReceipt(p);
    try {
      const info = await transport.sendMail({
        from: opts.from,
        to: p.to,
        subject,
        text,
        messageId: receiptMessageId(row.id, opts.messageIdDomain),
        date: new Date(p.created_at),
        headers: { 'X-Payconfirm-Receipt': row.id },
      });
      return { ok: true, statusCode: Number(/^\d{3}/.exec(info.response ?? '')?.[0] ?? 250) };
    } catch (err) {
      const e = err as Error & { code?: string; responseCode?: number };
      const error = scrubSecrets(`${e.code ? `${e.code}: ` : ''}${e.message ?? String(err)}`).slice(0, 2_000);
      if (typeof e.responseCode === 'number') {
        const permanent = e.responseCode >= 500;
        return { ok: false, reason: `smtp_${Math.floor(e.responseCode / 100)}xx`, statusCode: e.responseCode, error, retryAfterMs: null, giveUp: permanent };
      }
      const timedOut = e.code === 'ETIMEDOUT';
      return { ok: false, reason: timedOut ? 'timeout' : 'network', statusCode: null, error, retryAfterMs: null, giveUp: false };
    }
  }

  const deliverer = startOutboxDeliverer({
    pool: opts.pool,
    table: EMAIL_RECEIPTS,
    attempt,
    logger: opts.logger.child({ component: 'receipt-deliverer', smtpServer: server }),
    noun: 'e-mail receipt',
    idField: 'receiptId',
    startMessage: 'sending e-mail receipts',
    deadLetterHint: "its row in outgoing_emails has status 'dead' and last_error",
    timeoutMs,
    retry,
    ...loopTuningOf(opts),
    onDone: () => metrics?.receiptsSent.inc(),
    onFailedAttempt: (reason) => metrics?.receiptAttemptsFailed.inc({ reason }),
    onDead: () => metrics?.receiptsDeadLettered.inc(),
  });
  return {
    wake: deliverer.wake,
    async stop() {
      await deliverer.stop();
      transport.close();
    },
  };
}
