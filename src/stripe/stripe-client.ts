import Stripe from 'stripe';
import type { Metrics } from '../metrics.js';
import { stripeEndpoint } from './stripe-endpoint.js';

export type StripeClient = Stripe;

export interface StripeClientOptions {
  secretKey: string;
  /** e.g. `http://127.0.0.1:12111` for stripe-mock or the test fake; unset means api.stripe.com. */
  apiBase?: string | undefined;
  timeoutMs: number;
}

/** One HTTP attempt to Stripe: its endpoint label and the HTTP status, or `network` when no answer came. */
export interface StripeCall {
  endpoint: string;
  status: string;
}

type StripeCallListener = (call: StripeCall) => void;
type HttpClient = NonNullable<ConstructorParameters<typeof Stripe>[1]>['httpClient'] & object;

/** Listeners of each client made by createStripeClient (attached later, once metrics exist). */
const callListeners = new WeakMap<StripeClient, Set<StripeCallListener>>();
const observedWith = new WeakMap<StripeClient, WeakSet<Metrics>>();

/**
 * Wraps the SDK's HTTP client so every attempt is reported, answered or not (the SDK's own `response`
 * event never fires for a timeout or a dropped connection).
 */
function observedHttpClient(inner: HttpClient, report: StripeCallListener): HttpClient {
  return {
    getClientName: () => inner.getClientName(),
    makeRequest: (host, port, path, method, headers, data, protocol, timeout) =>
      inner.makeRequest(host, port, path, method, headers, data, protocol, timeout).then(
        (res) => (report({ endpoint: stripeEndpoint(method, path), status: String(res.getStatusCode()) }), res),
        (err: unknown) => {
          report({ endpoint: stripeEndpoint(method, path), status: 'network' });
          throw err;
        },
      ),
  };
}

/**
 * The official SDK with a bounded timeout and no SDK-level retries: retries belong to Temporal's activity
 * retry policy, which resends the same deterministic Idempotency-Key (the SDK's own retries would too,
 * but two retry layers multiply attempts and hide them from the workflow history).
 * Every HTTP attempt can be counted with `observeStripeCalls`.
 */
export function createStripeClient(opts: StripeClientOptions): StripeClient {
  const base = opts.apiBase ? new URL(opts.apiBase) : undefined;
  const listeners = new Set<StripeCallListener>();
  const stripe = new Stripe(opts.secretKey, {
    maxNetworkRetries: 0,
    timeout: opts.timeoutMs,
    telemetry: false,
    appInfo: { name: 'payconfirm', version: '0.1.0' },
    httpClient: observedHttpClient(Stripe.createNodeHttpClient(), (call) => listeners.forEach((listen) => listen(call))),
    ...(base
      ? {
          host: base.hostname,
          port: Number(base.port || (base.protocol === 'https:' ? 443 : 80)),
          protocol: base.protocol === 'https:' ? 'https' : 'http',
        }
      : {}),
  });
  callListeners.set(stripe, listeners);
  return stripe;
}

/**
 * Counts the client's calls in `payconfirm_stripe_calls_total{endpoint,status}`. Idempotent per
 * (client, metrics), so wiring the same client into API and workers of one process counts each call once.
 */
export function observeStripeCalls(stripe: StripeClient, metrics: Metrics): void {
  const seen = observedWith.get(stripe) ?? new WeakSet<Metrics>();
  if (seen.has(metrics)) return;
  seen.add(metrics);
  observedWith.set(stripe, seen);
  const count = (call: StripeCall) => metrics.stripeCalls.inc({ endpoint: call.endpoint, status: call.status });
  const listeners = callListeners.get(stripe);
  if (listeners) listeners.add(count);
  // A client built elsewhere: answered calls only, from the SDK's own event.
  else stripe.on('response', (e: { method: string; path: string; status: number }) => count({ endpoint: stripeEndpoint(e.method, e.path), status: String(e.status) }));
}
