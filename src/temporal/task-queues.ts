/**
 * Task queue names. Stripe activities run on their own queue so that Temporal's queue-wide activity
 * rate limit holds Stripe's per-account limit across every worker. Workflow-safe (pure).
 */
export const stripeTaskQueueFor = (taskQueue: string): string => `${taskQueue}-stripe`;
