import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  log,
  makeContinueAsNewFunc,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { OperatorDecisionActivities } from '../activities/operator-decision-activities.js';
import type { ConvergeFailureDetails, ConvergeResult, PaymentActivities, PaymentFacts } from '../activities/payment-activities.js';
import { isAccountId } from '../src/domain/account-id.js';
import { attentionReasonForFailure, FAILURE_TYPES } from '../src/domain/failure-types.js';
import { ledgerKeyForPaymentCredit } from '../src/domain/idempotency-keys.js';
import type {
  AttentionReason,
  CreditedOutcome,
  PaymentOutcome,
  PaymentStage,
  PaymentState,
  RejectInput,
  ResolveInput,
  SkipMirrorInput,
} from '../src/domain/payment.js';
import { AccountIdKey, AmountMinorKey, PaymentStageKey, StripeCustomerIdKey } from '../src/temporal/search-attributes.js';
import { stripeTaskQueueFor } from '../src/temporal/task-queues.js';
import { refusalOf, type OperatorActionName } from './operator-actions.js';
import { activityFailureOf } from './activity-failure.js';
import { describePaymentState } from './payment-details.js';
import {
  paymentEventSignal,
  paymentStateQuery,
  RECONCILE_NOTICE_TYPE,
  rejectUpdate,
  resolveUpdate,
  retryUpdate,
  skipMirrorUpdate,
} from './payment-messages.js';
import { boundedCarryOver } from './payment-carry-over.js';
import { historyOverBudget, processingRecheckDelayMs } from './payment-long-wait.js';
import { DEFAULT_TUNING, type PaymentWorkflowInput, type PendingResolve } from './payment-workflow-input.js';

/**
 * Patches: behaviour added after runs of the older code may still be open. `patched(id)` is true in a run that
 * recorded the change (or reaches it live) and false while replaying one that did not, so both replay
 * (docs/architecture.md, "Changing workflow code safely"; test/workflow-replay.test.ts replays the older runs).
 */
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
   * task-queue rate. Runs that recorded a pass as a regular activity keep running it there.
   */
  convergeInLocalActivity: 'converge-in-local-activity',
} as const;

type OperatorDecision =
  | { kind: 'retry' }
  | { kind: 'resolve'; input: ResolveInput }
  | { kind: 'reject'; input: RejectInput }
  | { kind: 'skipMirror'; input: SkipMirrorInput };

/** Thrown inside the workflow when an operator rejects the payment; caught below, never escapes. */
class OperatorRejected extends Error {}

/**
 * One workflow per PaymentIntent (workflow id = `pi_…`): confirm requests and every Stripe event about the
 * PaymentIntent, its charge, refunds and disputes converge here. Events wake it; Stripe decides.
 *
 * Each wake is one pass of the money model, one activity (`convergePayment`, activities/payment-activities.ts):
 * read the books and Stripe's truth, `planPayment`, apply the movements the ledger lacks to the account of record,
 * mirror them on the Stripe customer balance, mark the PaymentIntent. Wakes that arrive meanwhile run another
 * pass; the run ends once converged (a later event starts a new run, which converges the same way). A pass that
 * cannot go on waits in `needs_attention` for an operator's `retry`, `resolve`, `reject` or `skipMirror`, each
 * recorded in Postgres so it binds every later run. A plain credit costs one activity and one search-attribute
 * upsert: about a dozen history events.
 *
 * A `processing` PaymentIntent is re-read with a backoff (processingRecheck ×2 up to processingRecheckMax, from the
 * start again after each event), and a run whose history passes `historyBudget` continues as new between two
 * re-reads, handing the next run what the wait still needs (`carriedOver`). A caller waiting on the result follows
 * the chain of runs (the Temporal client does by default).
 */
export async function paymentWorkflow(input: PaymentWorkflowInput): Promise<PaymentOutcome> {
  const tuning = { ...DEFAULT_TUNING, ...input.tuning };
  const retry = { ...DEFAULT_TUNING.activityRetry, ...tuning.activityRetry, backoffCoefficient: 2 };
  const payments = proxyActivities<PaymentActivities>({
    taskQueue: stripeTaskQueueFor(workflowInfo().taskQueue),
    startToCloseTimeout: tuning.activityTimeout,
    retry,
  });
  // The same pass as a local activity (PAYMENT_WORKFLOW_PATCHES.convergeInLocalActivity), with the same retry budget.
  const localPayments = proxyLocalActivities<PaymentActivities>({ startToCloseTimeout: tuning.activityTimeout, retry });
  // An operator's decision must land, however long Postgres is away: no attempt limit, the same backoff.
  const decisions = proxyLocalActivities<OperatorDecisionActivities>({
    startToCloseTimeout: tuning.activityTimeout,
    retry: { ...retry, maximumAttempts: Number.POSITIVE_INFINITY },
  });
  const pi = input.paymentIntentId;
  const carried = input.carriedOver ?? null;

  const state: PaymentState = {
    paymentIntentId: pi,
    stage: 'loading',
    attention: null,
    accountId: null,
    customerId: null,
    amountMinor: null,
    currency: null,
    ledgerEntryId: null,
    netMinor: null,
    outcome: null,
  };
  /** Ids of the Stripe events that woke this run and the runs it continues (their inbox rows learn a not_eligible verdict). */
  const eventIds: string[] = [...(carried?.eventIds ?? [])];
  /** Set by a reconcile wake: the next pass checks the recorded mirror transactions against Stripe. */
  let verifyMirror = carried?.verifyMirror ?? false;
  let decision: OperatorDecision | null = null;
  /**
   * Records an accepted operator update and answers once the waiting pass has taken it up (the payment has
   * left needs_attention). The update's input stays in the workflow history, the decision in Postgres.
   */
  const decide = async (taken: OperatorDecision): Promise<PaymentState> => {
    decision = taken;
    log.info('operator decision', { paymentIntentId: pi, decision: taken.kind, reason: state.attention?.reason });
    await condition(() => decision !== taken);
    return state;
  };

  /** Refuses an operator update that does not apply now (workflows/operator-actions.ts holds the rules). */
  const refuseUnless = (action: OperatorActionName) => {
    if (decision) throw ApplicationFailure.nonRetryable(`an operator's ${decision.kind} is already being applied`, 'DecisionPending');
    const refusal = refusalOf(action, state);
    if (refusal) throw ApplicationFailure.nonRetryable(refusal.message, refusal.type);
  };
  const requireReason = (given: { reason?: unknown } | undefined, action: string) => {
    if (typeof given?.reason !== 'string' || !given.reason.trim()) throw ApplicationFailure.nonRetryable(`${action} needs {"reason": "…"}`, 'InvalidReason');
  };
  setHandler(paymentStateQuery, () => state);
  setHandler(paymentEventSignal, (notice) => {
    if (!eventIds.includes(notice.eventId)) eventIds.push(notice.eventId);
    if (notice.eventType === RECONCILE_NOTICE_TYPE) verifyMirror = true;
  });
  setHandler(retryUpdate, () => decide({ kind: 'retry' }), { validator: () => refuseUnless('retry') });
  setHandler(resolveUpdate, (resolve) => decide({ kind: 'resolve', input: resolve }), {
    validator: (resolve) => {
      refuseUnless('resolve');
      if (!isAccountId(resolve?.accountId)) {
        throw ApplicationFailure.nonRetryable('resolve needs {"accountId": "<account uuid>"}', 'InvalidResolve');
      }
    },
  });
  setHandler(rejectUpdate, (reject) => decide({ kind: 'reject', input: reject }), {
    validator: (reject) => (refuseUnless('reject'), requireReason(reject, 'reject')),
  });
  setHandler(skipMirrorUpdate, (skip) => decide({ kind: 'skipMirror', input: skip }), {
    validator: (skip) => (refuseUnless('skipMirror'), requireReason(skip, 'skipMirror')),
  });

  /** Search-attribute facts learnt since the last upsert: they ride on the next stage change. */
  const sent = new Map<string, unknown>();
  const pendingFacts = (): SearchAttributeUpdatePair[] =>
    [
      state.amountMinor !== null ? ({ key: AmountMinorKey, value: state.amountMinor } as SearchAttributeUpdatePair) : null,
      state.customerId ? ({ key: StripeCustomerIdKey, value: state.customerId } as SearchAttributeUpdatePair) : null,
      state.accountId ? ({ key: AccountIdKey, value: state.accountId } as SearchAttributeUpdatePair) : null,
    ].filter((pair): pair is SearchAttributeUpdatePair => pair !== null && sent.get(pair.key.name) !== pair.value);
  /** One upsert per stage a person can see the payment stay in (waiting, stuck, finished), carrying the new facts. */
  const setStage = (stage: PaymentStage) => {
    if (state.stage !== stage) {
      const changes = [{ key: PaymentStageKey, value: stage } as SearchAttributeUpdatePair, ...pendingFacts()];
      upsertSearchAttributes(changes);
      for (const c of changes) sent.set(c.key.name, c.value);
    }
    state.stage = stage;
    setCurrentDetails(describePaymentState(state));
  };
  const learn = (facts: PaymentFacts) => {
    for (const [k, v] of Object.entries(facts) as [keyof PaymentFacts, PaymentFacts[keyof PaymentFacts]][]) {
      if (v !== null) Object.assign(state, { [k]: v });
    }
  };

  /**
   * Waits in needs_attention for an operator. `retry`, `reject` and `skipMirror` are recorded in Postgres now;
   * `resolve` by the next pass, once its account is found. `reject` ends the payment.
   */
  async function awaitOperator(reason: AttentionReason, detail: string, failedStage: PaymentStage): Promise<OperatorDecision> {
    state.attention = { reason, detail, failedStage, since: new Date().toISOString() };
    setStage('needs_attention');
    await condition(() => decision !== null);
    const taken = decision!;
    if (taken.kind !== 'resolve') {
      try {
        await decisions.recordOperatorDecision({
          paymentIntentId: pi,
          attentionReason: reason,
          decision: taken.kind === 'skipMirror' ? 'skip_mirror' : taken.kind,
          reason: taken.kind === 'retry' ? null : taken.input.reason,
        });
      } catch (err) {
        // A reject refused by the database (a run that raced this one credited meanwhile): the next pass sees it.
        if (activityFailureOf(err)?.application?.type !== FAILURE_TYPES.decisionRefused) throw err;
      }
    }
    decision = null;
    state.attention = null;
    if (taken.kind === 'reject') throw new OperatorRejected(taken.input.reason);
    setStage('loading');
    return taken;
  }

  const finish = async (outcome: PaymentOutcome): Promise<PaymentOutcome> => {
    state.outcome = outcome;
    setStage(outcome.status);
    await condition(allHandlersFinished);
    return outcome;
  };

  try {
    let handedTruth = input.handedTruth ?? null;
    let resolve: PendingResolve | null = carried?.resolve ?? null;
    let credited = null as CreditedOutcome | null;
    /** Ledger keys this run (and those it continues) wrote, failed attempts included: `ledgerEntryCreated` says whether it credited. */
    const writtenByRun = new Set<string>(carried?.ledgerKeysWritten ?? []);
    /** Re-reads of a processing PaymentIntent since an event last woke the run: the backoff's step. */
    let rechecksSinceWake = carried?.rechecksSinceWake ?? 0;
    /** The input of the run this one continues as: the wait goes on where it stands. */
    const nextRunInput = (): PaymentWorkflowInput => {
      const lists = { eventIds: [...eventIds], ledgerKeysWritten: [...writtenByRun] };
      return {
        paymentIntentId: pi,
        ...(input.tuning ? { tuning: input.tuning } : {}),
        carriedOver: {
          ...(patched(PAYMENT_WORKFLOW_PATCHES.boundedCarryOver) ? boundedCarryOver(pi, lists) : lists),
          rechecksSinceWake,
          verifyMirror,
          resolve,
          runsBefore: (carried?.runsBefore ?? 0) + 1,
        },
      };
    };
    for (;;) {
      const wokenBy = eventIds.length;
      const verify: boolean = verifyMirror;
      verifyMirror = false;
      let result: ConvergeResult;
      try {
        const pass = patched(PAYMENT_WORKFLOW_PATCHES.convergeInLocalActivity) ? localPayments : payments;
        result = await pass.convergePayment({ paymentIntentId: pi, handedTruth, resolve, verifyMirror: verify, eventIds: [...eventIds] });
      } catch (err) {
        // The pass gave up: as an activity its failure comes wrapped, as a local activity bare (activity-failure.ts).
        const gaveUp = activityFailureOf(err);
        if (!gaveUp) throw err;
        const cause = gaveUp.application ?? undefined;
        const where = cause?.details?.[0] as ConvergeFailureDetails | undefined;
        if (where) {
          learn(where.facts);
          for (const key of where.createdNow) writtenByRun.add(key);
        }
        const reason = attentionReasonForFailure(cause?.type);
        const failure = gaveUp.failure.message;
        const detail = reason === 'retries_exhausted' ? `convergePayment failed on every attempt of its retry budget; last failure: ${failure}` : failure;
        verifyMirror ||= verify;
        const taken = await awaitOperator(reason, detail, where?.stage ?? 'loading');
        if (taken.kind === 'resolve') resolve = { accountId: taken.input.accountId ?? '', note: taken.input.note ?? null, attentionReason: reason };
        continue;
      } finally {
        handedTruth = null; // a handed truth serves the first pass only
      }
      learn(result.facts);
      switch (result.kind) {
        case 'rejected':
          return await finish({ status: 'rejected', paymentIntentId: pi, reason: result.reason });
        case 'not_eligible':
          return await finish({ status: 'not_eligible', paymentIntentId: pi, why: result.why });
        case 'not_payable':
          return await finish({ status: 'not_payable', paymentIntentId: pi, paymentIntentStatus: result.status });
        case 'wait_for_payment': {
          setStage('awaiting_payment');
          const recheck = patched(PAYMENT_WORKFLOW_PATCHES.processingRecheckBackoff)
            ? processingRecheckDelayMs(rechecksSinceWake, tuning.processingRecheck, tuning.processingRecheckMax)
            : tuning.processingRecheck;
          const woken = await condition(() => eventIds.length > wokenBy, recheck);
          rechecksSinceWake = woken ? 0 : rechecksSinceWake + 1;
          // A safe point to hand over: between two passes, no operator decision or update handler under way.
          if (
            patched(PAYMENT_WORKFLOW_PATCHES.continueAsNewPastHistoryBudget) &&
            historyOverBudget(workflowInfo(), tuning.historyBudget) &&
            decision === null &&
            allHandlersFinished()
          ) {
            const next = nextRunInput();
            log.info('continuing as new', { paymentIntentId: pi, historyLength: workflowInfo().historyLength, runsBefore: next.carriedOver?.runsBefore });
            // The next run starts with the search attributes this one has now (PaymentIntentId, stage, facts).
            return await makeContinueAsNewFunc<typeof paymentWorkflow>({ typedSearchAttributes: workflowInfo().typedSearchAttributes })(next);
          }
          continue;
        }
        case 'attention': {
          const taken = await awaitOperator(result.reason, result.detail, result.stage);
          resolve = taken.kind === 'resolve' ? { accountId: taken.input.accountId ?? '', note: taken.input.note ?? null, attentionReason: result.reason } : null;
          continue;
        }
        case 'converged':
          resolve = null;
          if (result.outcome.ledgerEntryCreated) writtenByRun.add(ledgerKeyForPaymentCredit(pi));
          credited = { ...result.outcome, ledgerEntryCreated: writtenByRun.has(ledgerKeyForPaymentCredit(pi)) };
          if (eventIds.length === wokenBy) return await finish(credited); // converged, unless an event came meanwhile
      }
    }
  } catch (err) {
    if (err instanceof OperatorRejected) return await finish({ status: 'rejected', paymentIntentId: pi, reason: err.message });
    throw err;
  }
}
