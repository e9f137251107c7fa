import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time.js';

/**
 * What keeps a long wait for payment cheap (a `processing` PaymentIntent: SEPA Direct Debit takes up to 14 business
 * days): fewer re-reads of Stripe as the wait grows, and a run that hands over to a new one before its history
 * grows large. Pure rules, workflow-safe; the payment workflow applies them (workflows/payment-workflow.ts).
 */

/** Each re-read that finds the PaymentIntent still processing multiplies the next wait by this. */
export const RECHECK_BACKOFF_COEFFICIENT = 2;

/**
 * The wait before the next re-read, after `rechecksSinceWake` re-reads found the PaymentIntent still processing
 * since the last event woke the run: `first` × 2^n, at most `max` (never less than `first`).
 */
export function processingRecheckDelayMs(rechecksSinceWake: number, first: Duration, max: Duration): number {
  const firstMs = msToNumber(first);
  const maxMs = Math.max(firstMs, msToNumber(max));
  return Math.min(maxMs, firstMs * RECHECK_BACKOFF_COEFFICIENT ** Math.min(Math.max(rechecksSinceWake, 0), 64));
}

/** Temporal's view of the run's history, as `workflowInfo()` gives it. */
export interface HistoryGauge {
  historyLength: number;
  continueAsNewSuggested: boolean;
}

/** The run should continue as new: its history reached the budget, or Temporal suggests it (size or count). */
export const historyOverBudget = (history: HistoryGauge, budget: number): boolean =>
  history.continueAsNewSuggested || history.historyLength >= budget;
