/**
 * How payconfirm talks to its SMTP server, from SMTP_URL alone. One rule: credentials never cross the network in
 * clear text.
 *
 * - `smtps://…`: TLS from the first byte (nodemailer's `secure`, from the URL).
 * - `smtp://user:pass@…`: STARTTLS is required (`requireTLS`): a server that does not offer it, or an upgrade that
 *   fails, fails the send before AUTH; never the opportunistic "STARTTLS when offered" that a stripped EHLO downgrades.
 * - `smtp://host:port` without credentials: plain is allowed (a local Mailpit); STARTTLS is still used when offered.
 */
export interface SmtpTransportOptions {
  url: string;
  connectionTimeout: number;
  greetingTimeout: number;
  socketTimeout: number;
  requireTLS: boolean;
  logger: false;
  tls?: { ca: string };
}

/** True when the URL carries a user or a password (what AUTH would send). */
export const smtpUrlHasCredentials = (url: string): boolean => {
  const u = new URL(url);
  return u.username !== '' || u.password !== '';
};

/**
 * The nodemailer transport options for SMTP_URL. `tlsCa`: the PEM of a CA to trust beyond the system's (a relay with
 * a private CA; the tests' Mailpit).
 */
export function smtpTransportOptions(url: string, opts: { timeoutMs: number; tlsCa?: string }): SmtpTransportOptions {
  const plainScheme = new URL(url).protocol === 'smtp:';
  return {
    url,
    connectionTimeout: opts.timeoutMs,
    greetingTimeout: opts.timeoutMs,
    socketTimeout: opts.timeoutMs,
    requireTLS: plainScheme && smtpUrlHasCredentials(url),
    logger: false,
    ...(opts.tlsCa ? { tls: { ca: opts.tlsCa } } : {}),
  };
}
