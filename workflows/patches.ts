/**
 * Every `patched()` id of payconfirm's workflows, in one place. A patch marks behaviour added after runs of the
 * older code may still be open: `patched(id)` is true in a run that recorded the change (or reaches it live) and
 * false while replaying one that did not, so both replay (docs/architecture.md, "Changing workflow code safely";
 * test/workflow-replay.test.ts replays recorded histories). An id, once shipped, never changes or comes back.
 */

/** The payment workflow (workflows/payment-workflow.ts). */
export const PAYMENT_WORKFLOW_PATCHES = {
  /** Re-reads of a processing PaymentIntent back off (×2 up to processingRecheckMax) instead of a fixed period. */
  processingRecheckBackoff: 'processing-recheck-backoff',
  /** A run waiting for payment continues as new past its history budget. */
  continueAsNewPastHistoryBudget: 'continue-as-new-past-history-budget',
  /** What a run hands the next one of its event ids and ledger keys is bounded (workflows/payment-carry-over.ts). */
  boundedCarryOver: 'bounded-carry-over',
  /**
   * A pass runs as a local activity on the workflow's own worker (one workflow task a pass, no dispatch to the
   * `-stripe` queue): Stripe's limit is held by the request budget every process shares (src/stripe), not by a
   * task-queue rate. Runs that recorded a pass as a regular activity replay it there.
   */
  convergeInLocalActivity: 'converge-in-local-activity',
} as const;

/** The event workflow's subscription route (event workflows in flight at its deploy replay without it). */
export const SUBSCRIPTION_ROUTE_PATCH = 'subscription-route';

/** The event workflow's team-route step (event workflows in flight at a deploy replay without it). */
export const TEAM_ROUTES_PATCH = 'team-routes';

/**
 * The scheduled reconcile's keyset walk (listReconcilePage). A run in flight at its deploy replays the id-ordered
 * page (listReconcileCandidates), which now answers no more ids: that run closes, and the next scheduled one, whose
 * lookback overlaps it, checks its window.
 */
export const RECONCILE_KEYSET_WALK_PATCH = 'reconcile-keyset-walk';
