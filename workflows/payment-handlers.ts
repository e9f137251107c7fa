import { ApplicationFailure, condition, log, setHandler } from '@temporalio/workflow';
import type { OperatorDecisionActivities } from '../activities/operator-decision-activities.js';
import { isAccountId } from '../src/domain/account-id.js';
import { FAILURE_TYPES } from '../src/domain/failure-types.js';
import type { AttentionReason, PaymentStage, PaymentState, RejectInput, ResolveInput, SkipMirrorInput } from '../src/domain/payment.js';
import { activityFailureOf } from './activity-failure.js';
import { refusalOf, type OperatorActionName } from './operator-actions.js';
import { paymentEventSignal, paymentStateQuery, RECONCILE_NOTICE_TYPE, rejectUpdate, resolveUpdate, retryUpdate, skipMirrorUpdate } from './payment-messages.js';
import type { StagePublisher } from './payment-stage.js';

/**
 * The payment workflow's message handlers and its operator wait, in the manner of samples-typescript's
 * safe-message-handlers: the `state` query, the event signal (a wake), and the operator updates, each with a
 * validator that refuses what does not apply now (workflows/operator-actions.ts holds the rules). What they
 * receive lands in the run's mailbox, which the main loop reads.
 */
export type OperatorDecision =
  | { kind: 'retry' }
  | { kind: 'resolve'; input: ResolveInput }
  | { kind: 'reject'; input: RejectInput }
  | { kind: 'skipMirror'; input: SkipMirrorInput };

/** Thrown inside the workflow when an operator rejects the payment; caught by the workflow, never escapes. */
export class OperatorRejected extends Error {}

/** What the handlers hand the main loop. */
export interface PaymentMailbox {
  /** Ids of the Stripe events that woke this run and the runs it continues (their inbox rows learn a not_eligible verdict). */
  eventIds: string[];
  /** Set by a reconcile wake: the next pass checks the recorded mirror transactions against Stripe. */
  verifyMirror: boolean;
  /** An accepted operator update, until the waiting pass takes it up. */
  decision: OperatorDecision | null;
}

export function installPaymentHandlers(state: PaymentState, mailbox: PaymentMailbox): void {
  /**
   * Records an accepted operator update and answers once the waiting pass has taken it up (the payment has
   * left needs_attention). The update's input stays in the workflow history, the decision in Postgres.
   */
  const decide = async (taken: OperatorDecision): Promise<PaymentState> => {
    mailbox.decision = taken;
    log.info('operator decision', { paymentIntentId: state.paymentIntentId, decision: taken.kind, reason: state.attention?.reason });
    await condition(() => mailbox.decision !== taken);
    return state;
  };
  const refuseUnless = (action: OperatorActionName) => {
    if (mailbox.decision) throw ApplicationFailure.nonRetryable(`an operator's ${mailbox.decision.kind} is already being applied`, FAILURE_TYPES.decisionPending);
    const refusal = refusalOf(action, state);
    if (refusal) throw ApplicationFailure.nonRetryable(refusal.message, refusal.type);
  };
  const requireReason = (given: { reason?: unknown } | undefined, action: string) => {
    if (typeof given?.reason !== 'string' || !given.reason.trim()) throw ApplicationFailure.nonRetryable(`${action} needs {"reason": "…"}`, FAILURE_TYPES.invalidReason);
  };
  setHandler(paymentStateQuery, () => state);
  setHandler(paymentEventSignal, (notice) => {
    if (!mailbox.eventIds.includes(notice.eventId)) mailbox.eventIds.push(notice.eventId);
    if (notice.eventType === RECONCILE_NOTICE_TYPE) mailbox.verifyMirror = true;
  });
  setHandler(retryUpdate, () => decide({ kind: 'retry' }), { validator: () => refuseUnless('retry') });
  setHandler(resolveUpdate, (resolve) => decide({ kind: 'resolve', input: resolve }), {
    validator: (resolve) => {
      refuseUnless('resolve');
      if (!isAccountId(resolve?.accountId)) {
        throw ApplicationFailure.nonRetryable('resolve needs {"accountId": "<account uuid>"}', FAILURE_TYPES.invalidResolve);
      }
    },
  });
  setHandler(rejectUpdate, (reject) => decide({ kind: 'reject', input: reject }), {
    validator: (reject) => (refuseUnless('reject'), requireReason(reject, 'reject')),
  });
  setHandler(skipMirrorUpdate, (skip) => decide({ kind: 'skipMirror', input: skip }), {
    validator: (skip) => (refuseUnless('skipMirror'), requireReason(skip, 'skipMirror')),
  });
}

/**
 * Waits in needs_attention for an operator. `retry`, `reject` and `skipMirror` are recorded in Postgres now;
 * `resolve` by the next pass, once its account is found. `reject` ends the payment (OperatorRejected).
 */
export function operatorWait(
  state: PaymentState,
  mailbox: PaymentMailbox,
  stages: StagePublisher,
  decisions: Pick<OperatorDecisionActivities, 'recordOperatorDecision'>,
): (reason: AttentionReason, detail: string, failedStage: PaymentStage) => Promise<OperatorDecision> {
  return async (reason, detail, failedStage) => {
    state.attention = { reason, detail, failedStage, since: new Date().toISOString() };
    stages.setStage('needs_attention');
    await condition(() => mailbox.decision !== null);
    const taken = mailbox.decision!;
    if (taken.kind !== 'resolve') {
      try {
        await decisions.recordOperatorDecision({
          paymentIntentId: state.paymentIntentId,
          attentionReason: reason,
          decision: taken.kind === 'skipMirror' ? 'skip_mirror' : taken.kind,
          reason: taken.kind === 'retry' ? null : taken.input.reason,
        });
      } catch (err) {
        // A reject refused by the database (a run that raced this one credited meanwhile): the next pass sees it.
        if (activityFailureOf(err)?.application?.type !== FAILURE_TYPES.decisionRefused) throw err;
      }
    }
    mailbox.decision = null;
    state.attention = null;
    if (taken.kind === 'reject') throw new OperatorRejected(taken.input.reason);
    stages.setStage('loading');
    return taken;
  };
}
