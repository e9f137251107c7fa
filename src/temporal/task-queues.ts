/**
 * Task queue names. Stripe activities run on their own queue (their pace is the Stripe request budget's,
 * src/stripe/stripe-request-budget.ts, not the queue's). Workflow-safe (pure).
 */
export const stripeTaskQueueFor = (taskQueue: string): string => `${taskQueue}-stripe`;
