import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The fields payconfirm's log lines use to tie a line to what it is about; every component names them
 * the same way, so one search finds a payment's whole story across API and worker logs.
 */
export interface LogContext {
  requestId?: string;
  eventId?: string;
  workflowId?: string;
  paymentIntentId?: string;
  accountId?: string;
}

const SECRET_KEYS = [
  'apiKey',
  'api_key',
  'secretKey',
  'secret',
  'webhookSecret',
  'webhookSecrets',
  'signature',
  'stripeSignature',
  'authorization',
  'cookie',
  'token',
  'databaseUrl',
  'password',
];
const SECRET_HEADERS = ['authorization', '["stripe-signature"]', 'cookie', '["set-cookie"]', '["x-api-key"]'];

/**
 * Anything that could carry a secret is redacted by path, at the top level and one level down, and in
 * headers wherever a request/response object carries them: API keys, Stripe keys, webhook signatures and
 * secrets, authorization headers, cookies, DB URLs.
 */
export const REDACTED_PATHS = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((key) => `*.${key}`),
  ...SECRET_HEADERS.flatMap((h) => [`headers.${h}`, `*.headers.${h}`, `req.headers.${h}`, `res.headers.${h}`]),
].map((path) => path.replace('.[', '['));

/** Replaces anything that looks like a secret inside free text (e.g. an error message quoting a URL or header). */
export function scrubSecrets(text: string): string {
  return text
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 [redacted]')
    .replace(/\b(sk|rk)_(test|live)_[A-Za-z0-9]+/g, '$1_$2_[redacted]')
    .replace(/\bwhsec_[A-Za-z0-9+/=_]+/g, 'whsec_[redacted]')
    .replace(/\bpcf_[A-Za-z0-9_-]+/g, 'pcf_[redacted]')
    .replace(/(postgres(?:ql)?:\/\/[^:/\s]+:)[^@\s]+@/g, '$1[redacted]@')
    .replace(/(smtps?:\/\/[^:/\s]+:)[^@\s]+@/g, '$1[redacted]@')
    .replace(/\b(v0|v1)=[0-9a-f]{64}\b/g, '$1=[redacted]');
}

/** Errors keep their type, code and stack, with secrets scrubbed out of message and stack. */
function serializeError(err: unknown): unknown {
  const plain = pino.stdSerializers.err(err as Error) as unknown as Record<string, unknown>;
  if (!plain || typeof plain !== 'object') return plain;
  for (const field of ['message', 'stack'] as const) {
    if (typeof plain[field] === 'string') plain[field] = scrubSecrets(plain[field]);
  }
  return plain;
}

export function createLogger(opts: { level: string; name?: string; destination?: NodeJS.WritableStream }): Logger {
  return pino(
    {
      name: opts.name ?? 'payconfirm',
      level: opts.level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      base: { service: 'payconfirm' },
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: { err: serializeError, error: serializeError },
      hooks: {
        // Messages are free text: scrub them like error messages (the structured fields are redacted by path).
        logMethod(args, method) {
          return method.apply(this, args.map((arg) => (typeof arg === 'string' ? scrubSecrets(arg) : arg)) as Parameters<typeof method>);
        },
      },
    },
    opts.destination ?? process.stdout,
  );
}
