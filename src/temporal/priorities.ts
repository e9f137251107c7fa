/**
 * Temporal task-queue priority keys (1 = first, 5 = last; unset = 3). When a backlog builds — a month-start burst
 * of renewals, a recovery after an outage — the matching service hands out tasks of a lower key first, within a
 * queue, so a person waiting on a confirm is not queued behind thousands of webhook-started payments. Activities
 * inherit their workflow's key. Workflow-safe (pure).
 */
export const PRIORITY = {
  /** A caller waits on the answer: POST /billing/confirm_payment. */
  interactive: 1,
  /** A payment woken by a Stripe event (or a reconcile): nobody waits on it right now. */
  payment: 3,
  /** Taking in a Stripe event (the event workflow `evt_…`): work already under way goes first. */
  intake: 4,
  /**
   * Taking in any other Stripe event (team routes, src/routes/): after every payment's, so a burst of, say,
   * `customer.subscription.updated` never holds up a credit on payconfirm's queue.
   */
  otherIntake: 5,
  /** The scheduled reconcile and its Stripe reads: background work, after everything else. */
  reconcile: 5,
} as const;
