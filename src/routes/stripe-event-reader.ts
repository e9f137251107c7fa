import { ApplicationFailure } from '@temporalio/common';
import { FAILURE_TYPES } from '../domain/failure-types.js';
import { STRIPE_EVENT_UNREADABLE } from './team-workflow.js';

/**
 * `payconfirm/routes/activities`: an activity for a team's worker that reads a routed event's full body from Stripe,
 * `GET /v1/events/{id}`, with the team's own Stripe key. payconfirm forwards only the event's summary
 * (`RoutedStripeEvent`): the body stays where it is authoritative, and a team never needs access to payconfirm's
 * database. Stripe keeps events 30 days. For decisions, prefer reading the object itself (`GET /v1/subscriptions/…`):
 * an event body is the object as it was then, and events arrive late and out of order.
 *
 * No dependency beyond the platform's fetch; the key is sent as a Bearer header and never logged or put in an error.
 */

export interface StripeEventReaderOptions {
  /** `sk_…` or a restricted `rk_…` key with read access to events. */
  secretKey: string;
  /** Default `https://api.stripe.com`. */
  apiBase?: string;
  /** Per-request timeout; default 20 s. */
  timeoutMs?: number;
}

/** The fields of a Stripe event every version has; the rest is there as Stripe sent it. */
export interface StripeEventBody {
  id: string;
  type: string;
  created: number;
  livemode: boolean;
  data: { object: Record<string, unknown> & { id: string }; previous_attributes?: Record<string, unknown> };
  [field: string]: unknown;
}

export { STRIPE_EVENT_UNREADABLE };

/**
 * Activities: `readStripeEvent(eventId)`. 400 and 404 (an event older than 30 days, another account's) fail without
 * retries (`StripeEventUnreadable`); a refused key (401, 403), 429, 5xx and network errors are retried by Temporal, so
 * a workflow waits for a fixed key instead of failing.
 */
export function createStripeEventReader(options: StripeEventReaderOptions) {
  const apiBase = (options.apiBase ?? 'https://api.stripe.com').replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 20_000;
  return {
    async readStripeEvent(eventId: string): Promise<StripeEventBody> {
      if (!/^evt_[A-Za-z0-9_]+$/.test(eventId)) throw ApplicationFailure.nonRetryable(`not a Stripe event id: ${eventId}`, STRIPE_EVENT_UNREADABLE);
      const response = await fetch(`${apiBase}/v1/events/${eventId}`, {
        headers: { authorization: `Bearer ${options.secretKey}` },
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (response.ok) return (await response.json()) as StripeEventBody;
      const detail = await response.text().then(
        (text) => {
          try {
            return String((JSON.parse(text) as { error?: { message?: unknown } }).error?.message ?? '');
          } catch {
            return '';
          }
        },
        () => '',
      );
      const scrubbed = detail.replace(/\b(sk|rk)_(test|live)_[A-Za-z0-9*]+/g, '[redacted key]').slice(0, 300);
      const message = `GET /v1/events/${eventId} answered ${response.status}${scrubbed ? `: ${scrubbed}` : ''}`;
      // 400 / 404: this event cannot be read, ever (older than 30 days, another account's). Anything else — 401/403 (a
      // key to fix), 429, 5xx — is retried by Temporal until it answers.
      if (response.status === 400 || response.status === 404) throw ApplicationFailure.nonRetryable(message, STRIPE_EVENT_UNREADABLE);
      throw ApplicationFailure.retryable(message, FAILURE_TYPES.stripeUnavailable);
    },
  };
}

export type StripeEventReaderActivities = ReturnType<typeof createStripeEventReader>;
