import { ApplicationFailure } from '@temporalio/common';
import { DecisionRefusedError, recordDecision, type NewDecision } from '../src/db/payment-books.js';
import type { Pool } from '../src/db/pool.js';
import { FAILURE_TYPES } from '../src/domain/failure-types.js';

export interface OperatorDecisionActivityDeps {
  pool: Pool;
}

/** Operator decisions, stored in Postgres so they bind every later path (run as a local activity of the payment workflow). */
export function createOperatorDecisionActivities({ pool }: OperatorDecisionActivityDeps) {
  return {
    /** Stores an operator decision; refused (typed, non-retryable) when it no longer applies (reject after the credit). */
    async recordOperatorDecision(decision: NewDecision): Promise<void> {
      try {
        await recordDecision(pool, decision);
      } catch (err) {
        if (err instanceof DecisionRefusedError) throw ApplicationFailure.nonRetryable(err.message, FAILURE_TYPES.decisionRefused);
        throw err;
      }
    },
  };
}

export type OperatorDecisionActivities = ReturnType<typeof createOperatorDecisionActivities>;
