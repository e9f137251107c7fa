import { ApplicationFailure } from '@temporalio/activity';
import type { Pool } from '../src/db/pool.js';
import { FAILURE_TYPES } from '../src/domain/failure-types.js';
import type { StripeClient } from '../src/stripe/stripe-client.js';
import { isResourceMissing } from '../src/stripe/stripe-failures.js';
import { toActivityFailure } from './stripe-activity-failure.js';
import { readSubscription } from '../src/subscriptions/read-subscription.js';
import { MalformedSubscriptionError, type SubscriptionState } from '../src/subscriptions/subscription-state.js';
import { takeReadTicket, writeSubscriptionRead, type SubscriptionWriteOutcome } from '../src/subscriptions/subscription-store.js';

export interface SubscriptionActivityDeps {
  stripe: StripeClient;
  pool: Pool;
}

export interface SyncSubscriptionInput {
  subscriptionId: string;
  /** The newest Stripe event that woke this pass (recorded on the row for people; never a source of state). */
  lastEventId: string | null;
}

export type SyncSubscriptionResult =
  | { kind: 'synced'; write: SubscriptionWriteOutcome; version: number; status: string; notificationId: string | null }
  /** Stripe answered 404: no such subscription for this key (another account or mode, or a wrong id). Nothing written. */
  | { kind: 'not_found' };

/**
 * The subscription's one activity, on the Stripe task queue (one request, two for a subscription with more than 10
 * items, from the shared Stripe request budget): take a read ticket (Postgres), read the subscription fresh
 * (`GET /v1/subscriptions/{id}`), write it — with its `subscription.changed` notification when the state changed —
 * in one transaction, guarded by the ticket so that an older read never overwrites a newer one
 * (src/subscriptions/subscription-store.ts). Idempotent: a retry reads again and finds the state it wrote.
 */
export function createSubscriptionActivities({ stripe, pool }: SubscriptionActivityDeps) {
  return {
    async syncSubscription(input: SyncSubscriptionInput): Promise<SyncSubscriptionResult> {
      const ticket = await takeReadTicket(pool);
      const readAt = new Date();
      let state: SubscriptionState;
      try {
        state = await readSubscription(stripe, input.subscriptionId);
      } catch (err) {
        if (isResourceMissing(err)) return { kind: 'not_found' };
        if (err instanceof MalformedSubscriptionError) throw ApplicationFailure.nonRetryable(err.message, FAILURE_TYPES.stripeRejected);
        throw toActivityFailure(err, `retrieve subscription ${input.subscriptionId}`);
      }
      if (state.id !== input.subscriptionId) {
        throw ApplicationFailure.nonRetryable(`Stripe answered subscription ${state.id} for ${input.subscriptionId}`, FAILURE_TYPES.stripeRejected);
      }
      const written = await writeSubscriptionRead(pool, { state, ticket, readAt, lastEventId: input.lastEventId });
      return { kind: 'synced', write: written.outcome, version: written.version, status: written.status, notificationId: written.notificationId };
    },
  };
}

export type SubscriptionActivities = ReturnType<typeof createSubscriptionActivities>;
