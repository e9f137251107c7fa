import type { Duration } from '@temporalio/common';
import type { AttentionReason } from '../src/domain/payment.js';
import type { PaymentTruth } from '../src/domain/payment-truth.js';

export interface PaymentWorkflowTuning {
  /**
   * While the PaymentIntent is `processing`, the wait before re-reading it without a webhook signal. Each re-read
   * that finds it still processing doubles the wait, up to `processingRecheckMax`; an event starts over.
   */
  processingRecheck?: Duration;
  /** The longest wait between two re-reads of a processing PaymentIntent (the backoff's cap). */
  processingRecheckMax?: Duration;
  /**
   * A run waiting for payment continues as new once its history holds this many events (or Temporal suggests it):
   * the history of one run stays about this size however long the wait.
   */
  historyBudget?: number;
  /** Longest one activity attempt may take before Temporal retries it (a killed worker's task included). */
  activityTimeout?: Duration;
  /** Retry budget of each activity before the payment waits in needs_attention. */
  activityRetry?: { maximumAttempts?: number; initialInterval?: Duration; maximumInterval?: Duration };
}

/** An operator's resolve that the next pass records once its account is found. */
export interface PendingResolve {
  accountId: string;
  note: string | null;
  attentionReason: AttentionReason;
}

/** What a run waiting for payment hands the next one when it continues as new: everything the wait still needs. */
export interface PaymentCarryOver {
  /** Ids of the Stripe events that woke the earlier runs (their inbox rows learn a not_eligible verdict). */
  eventIds: string[];
  /** Ledger keys the earlier runs wrote: the outcome's `ledgerEntryCreated` speaks for the whole chain of runs. */
  ledgerKeysWritten: string[];
  /** Re-reads since the last event: where the backoff between re-reads stands. */
  rechecksSinceWake: number;
  /** A reconcile wake not served yet. */
  verifyMirror: boolean;
  /** An operator's resolve not recorded yet. */
  resolve: PendingResolve | null;
  /** How many runs of this payment came before the new one in its chain of continue-as-new. */
  runsBefore: number;
}

export interface PaymentWorkflowInput {
  paymentIntentId: string;
  tuning?: PaymentWorkflowTuning;
  /**
   * Stripe's truth as the starter just read it (confirm reads it to check ownership): the first pass uses it
   * instead of reading again, if it is still fresh (activities/payment-activities.ts HANDED_TRUTH_MAX_AGE_MS).
   */
  handedTruth?: { truth: PaymentTruth; readAtMs: number } | null;
  /** Set by the run this one continues (continue-as-new); absent on a run started by a caller. */
  carriedOver?: PaymentCarryOver;
}

/**
 * Re-reads of a processing PaymentIntent: 5 min, 10, 20, 40, 80, 160, then every 4 h. A webhook wakes the payment
 * at once; the re-read only catches an event that never came, so the cap trades a late credit in that rare case
 * (at most 4 h) against cost: a 14-day SEPA wait takes 90 Stripe reads and about 1,000 history events, where a read
 * every 5 min took 4,033 reads and about 44,400 events (docs/architecture.md, "Long waits"). The history budget keeps
 * each run's history near 2,000 events — a replay of a run stays cheap, far below Temporal's 10,240-event warning.
 */
export const DEFAULT_TUNING: Required<PaymentWorkflowTuning> = {
  processingRecheck: '5 minutes',
  processingRecheckMax: '4 hours',
  historyBudget: 2_000,
  activityTimeout: '60 seconds',
  activityRetry: { maximumAttempts: 10, initialInterval: '1 second', maximumInterval: '1 minute' },
};
