import Stripe from 'stripe';

export type StripeClient = Stripe;

export interface StripeClientOptions {
  secretKey: string;
  /** e.g. `http://127.0.0.1:12111` for stripe-mock or the test fake; unset means api.stripe.com. */
  apiBase?: string | undefined;
  timeoutMs: number;
}

/**
 * The official SDK with a bounded timeout and no SDK-level retries: retries belong to Temporal's activity
 * retry policy, which resends the same deterministic Idempotency-Key (the SDK's own retries would too,
 * but two retry layers multiply attempts and hide them from the workflow history).
 */
export function createStripeClient(opts: StripeClientOptions): StripeClient {
  const base = opts.apiBase ? new URL(opts.apiBase) : undefined;
  return new Stripe(opts.secretKey, {
    maxNetworkRetries: 0,
    timeout: opts.timeoutMs,
    telemetry: false,
    appInfo: { name: 'payconfirm', version: '0.1.0' },
    ...(base
      ? {
          host: base.hostname,
          port: Number(base.port || (base.protocol === 'https:' ? 443 : 80)),
          protocol: base.protocol === 'https:' ? 'https' : 'http',
        }
      : {}),
  });
}
