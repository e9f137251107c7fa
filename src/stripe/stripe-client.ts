import Stripe from 'stripe';
import type { Metrics } from '../metrics.js';
import { stripeEndpoint } from './stripe-endpoint.js';
import { retryAfterMs } from './stripe-failures.js';
import { currentStripePriority, type StripeRequestBudget } from './stripe-request-budget.js';

export type StripeClient = Stripe;

export interface StripeClientOptions {
  secretKey: string;
  /** e.g. `http://127.0.0.1:12111` for stripe-mock or the test fake; unset means api.stripe.com. */
  apiBase?: string | undefined;
  timeoutMs: number;
  /**
   * The Stripe request budget every process shares (src/stripe/stripe-request-budget.ts): a token is taken just before
   * each HTTP attempt, and a 429 slows the operation down and waits for Retry-After. None: requests go at once.
   */
  budget?: StripeRequestBudget | undefined;
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

/** How many times one request is sent again after a 429 (each after its Retry-After, each with a new token). */
const RATE_LIMITED_RESENDS = 2;

type HttpResponse = Awaited<ReturnType<HttpClient['makeRequest']>>;

/** Reads and drops a response nobody will see, so its connection goes back to the agent. */
const discard = (res: HttpResponse): Promise<void> => Promise.resolve(res.toJSON()).then(() => undefined, () => undefined);

/**
 * Wraps the SDK's HTTP client so every attempt spends from `budget`, just before it is sent: the one place where every
 * process's every Stripe call is held to Stripe's limits. A 429 (nothing was executed, so the same request with the
 * same Idempotency-Key may go again) slows the operation for everyone and is sent again after its Retry-After, within
 * the budget's own bounded wait; past that the 429 reaches the caller (an activity retries after Retry-After,
 * src/stripe/stripe-failures.ts).
 */
function budgetedHttpClient(inner: HttpClient, budget: StripeRequestBudget): HttpClient {
  return {
    getClientName: () => inner.getClientName(),
    makeRequest: async (host, port, path, method, headers, data, protocol, timeout) => {
      const operation = stripeEndpoint(method, path);
      const priority = currentStripePriority();
      for (let resends = 0; ; resends++) {
        await budget.take(operation, priority);
        const res = await inner.makeRequest(host, port, path, method, headers, data, protocol, timeout);
        if (res.getStatusCode() !== 429) return res;
        const waitMs = retryAfterMs(res.getHeaders() as Record<string, string | undefined>) ?? 1_000;
        await budget.slowDown(operation, waitMs);
        if (resends >= RATE_LIMITED_RESENDS) return res;
        await discard(res);
      }
    },
  };
}

/**
 * The official SDK with a bounded timeout and no SDK-level retries: retries belong to Temporal's activity
 * retry policy, which resends the same deterministic Idempotency-Key (the SDK's own retries would too,
 * but two retry layers multiply attempts and hide them from the workflow history).
 * Every HTTP attempt can be counted with `observeStripeCalls`, and spends from `budget` when one is given.
 */
export function createStripeClient(opts: StripeClientOptions): StripeClient {
  const base = opts.apiBase ? new URL(opts.apiBase) : undefined;
  const listeners = new Set<StripeCallListener>();
  const budgeted = (http: HttpClient) => (opts.budget ? budgetedHttpClient(http, opts.budget) : http);
  const stripe = new Stripe(opts.secretKey, {
    maxNetworkRetries: 0,
    timeout: opts.timeoutMs,
    telemetry: false,
    appInfo: { name: 'payconfirm', version: '0.1.0' },
    httpClient: budgeted(observedHttpClient(Stripe.createNodeHttpClient(), (call) => listeners.forEach((listen) => listen(call)))),
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
