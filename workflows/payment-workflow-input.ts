import type { Duration } from '@temporalio/common';
import type { PaymentTruth } from '../src/domain/payment-truth.js';

export interface PaymentWorkflowTuning {
  /** While the PaymentIntent is `processing`, re-read it this often even without a webhook signal. */
  processingRecheck?: Duration;
  /** Longest one activity attempt may take before Temporal retries it (a killed worker's task included). */
  activityTimeout?: Duration;
  /** Retry budget of each activity before the payment waits in needs_attention. */
  activityRetry?: { maximumAttempts?: number; initialInterval?: Duration; maximumInterval?: Duration };
}

export interface PaymentWorkflowInput {
  paymentIntentId: string;
  tuning?: PaymentWorkflowTuning;
  /**
   * Stripe's truth as the starter just read it (confirm reads it to check ownership): the first pass uses it
   * instead of reading again, if it is still fresh (activities/payment-activities.ts HANDED_TRUTH_MAX_AGE_MS).
   */
  handedTruth?: { truth: PaymentTruth; readAtMs: number } | null;
}

export const DEFAULT_TUNING: Required<PaymentWorkflowTuning> = {
  processingRecheck: '5 minutes',
  activityTimeout: '60 seconds',
  activityRetry: { maximumAttempts: 10, initialInterval: '1 second', maximumInterval: '1 minute' },
};
