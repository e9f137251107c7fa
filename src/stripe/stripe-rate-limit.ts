/**
 * How STRIPE_RATE_LIMIT_PER_SECOND (Stripe *requests* per second, all workers together) becomes the Stripe
 * task queue's activity rate limit (`maxTaskQueueActivitiesPerSecond`, which the Temporal matching service
 * holds for the whole queue, however many workers poll it).
 *
 * The goal: Stripe never sees more than the limit in ANY 1-second window. Three things stand between the
 * two rates:
 *  1. Requests per activity: at most MAX_STRIPE_REQUESTS_PER_ACTIVITY on the normal paths (a payment's one
 *     activity, convergePayment, reads the PaymentIntent with its charge, creates the credit's mirror
 *     transaction and marks the PaymentIntent: three; no lookup for a ledger row it wrote itself).
 *  2. Temporal's burst: matching dispatches through a token bucket holding one second of rate
 *     (capacity ceil(rate) per partition). After a quiet spell a 1-second window sees the full bucket plus
 *     one second of refill: up to ceil(A) + ceil(A) − 1 activity starts at rate A.
 *  3. Delivery jitter and spread: a task reaches Stripe some milliseconds after matching hands it out, not
 *     always in order, and its three requests follow each other over a few hundred milliseconds (more on a
 *     loaded machine), so the window is widened by DISPATCH_JITTER_SECONDS: ceil(A) + ceil(A × (1 + jitter)) − 1.
 *     0.2 s held with two requests an activity; with three, a full test run on 2 cores saw one activity's
 *     requests spread past 0.5 s (a peak of 11 at a limit of 10), so the window is widened by a whole second.
 * The rate chosen is the largest A whose worst-case starts per window, times requests per activity, stay
 * within the limit. It assumes one partition for the Stripe queue (the dev server runs one; on a cluster set
 * `matching.numTaskqueueReadPartitions`/`WritePartitions` to 1 for that queue — each partition has its own
 * bucket, so N partitions allow N rounded-up bursts).
 *
 * Not covered, by construction: requests of rare paths (a lookup before a retried write, the refund and
 * dispute lists once a payment has them, one more mirror transaction per refund or dispute, a new
 * Idempotency-Key generation after a replayed 5xx), and second requests bunched up by a
 * Stripe slowdown. Stripe answers any excess with 429, which the activities retry after Retry-After
 * (src/stripe/stripe-failures.ts).
 */
export const MAX_STRIPE_REQUESTS_PER_ACTIVITY = 3;
export const DISPATCH_JITTER_SECONDS = 1;

const EPSILON = 1e-9;
const ceil = (x: number) => Math.ceil(x - EPSILON);

/** Worst-case activity starts in one (jitter-widened) 1-second window at queue rate `rate`, one partition. */
export function worstCaseStartsPerWindow(rate: number): number {
  return ceil(rate) + ceil(rate * (1 + DISPATCH_JITTER_SECONDS)) - 1;
}

export function stripeActivitiesPerSecond(stripeRequestsPerSecond: number): number {
  if (!(stripeRequestsPerSecond > 0)) throw new RangeError('the Stripe request rate limit must be positive');
  const startsAllowed = Math.floor(stripeRequestsPerSecond / MAX_STRIPE_REQUESTS_PER_ACTIVITY);
  // worstCaseStartsPerWindow only steps up just past n or n / (1 + jitter): the best rate is one of those.
  let best = 0;
  for (let n = 1; n <= startsAllowed; n++) {
    for (const rate of [n, n / (1 + DISPATCH_JITTER_SECONDS)]) {
      if (rate > best && worstCaseStartsPerWindow(rate) <= startsAllowed) best = rate;
    }
  }
  // A limit below one activity's requests cannot be held per window; keep the long-run rate within it.
  return best > 0 ? best : stripeRequestsPerSecond / (2 * MAX_STRIPE_REQUESTS_PER_ACTIVITY);
}
