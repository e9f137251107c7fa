import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs (pino). Anything that could carry a secret is redacted by path, wherever it
 * appears: API keys, Stripe keys, webhook signatures and secrets, authorization headers, DB URLs.
 */
export const REDACTED_PATHS = [
  'apiKey',
  'api_key',
  'secretKey',
  'webhookSecret',
  'webhookSecrets',
  'signature',
  'databaseUrl',
  'password',
  '*.apiKey',
  '*.api_key',
  '*.secretKey',
  '*.webhookSecret',
  '*.webhookSecrets',
  '*.signature',
  '*.databaseUrl',
  '*.password',
  'req.headers.authorization',
  'req.headers["stripe-signature"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["stripe-signature"]',
];

export function createLogger(opts: { level: string; name?: string; destination?: NodeJS.WritableStream }): Logger {
  return pino(
    {
      name: opts.name ?? 'payconfirm',
      level: opts.level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      base: { service: 'payconfirm' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    opts.destination ?? process.stdout,
  );
}

/** Replaces anything that looks like a secret inside free text (e.g. an error message quoting a URL or header). */
export function scrubSecrets(text: string): string {
  return text
    .replace(/\b(sk|rk)_(test|live)_[A-Za-z0-9]+/g, '$1_$2_[redacted]')
    .replace(/\bwhsec_[A-Za-z0-9+/=]+/g, 'whsec_[redacted]')
    .replace(/\bpcf_[A-Za-z0-9_-]+/g, 'pcf_[redacted]')
    .replace(/(postgres(?:ql)?:\/\/[^:/\s]+:)[^@\s]+@/g, '$1[redacted]@')
    .replace(/\bv1=[0-9a-f]{64}\b/g, 'v1=[redacted]');
}
