import {
  allHandlersFinished,
  condition,
  log,
  makeContinueAsNewFunc,
  patched,
  proxyActivities,
  proxyLocalActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { OperatorDecisionActivities } from '../activities/operator-decision-activities.js';
import type { ConvergeFailureDetails, ConvergeResult, PaymentActivities } from '../activities/payment-activities.js';
import { attentionReasonForFailure } from '../src/domain/failure-types.js';
import { ledgerKeyForPaymentCredit } from '../src/domain/idempotency-keys.js';
import type { CreditedOutcome, PaymentOutcome, PaymentState } from '../src/domain/payment.js';
import { stripeTaskQueueFor } from '../src/temporal/task-queues.js';
import { activityFailureOf } from './activity-failure.js';
import { installPaymentHandlers, OperatorRejected, operatorWait, type PaymentMailbox } from './payment-handlers.js';
import { publishStages } from './payment-stage.js';
import { boundedCarryOver } from './payment-carry-over.js';
import { PAYMENT_WORKFLOW_PATCHES } from './patches.js';
import { historyOverBudget, processingRecheckDelayMs } from './payment-long-wait.js';
import { DEFAULT_TUNING, type PaymentWorkflowInput, type PendingResolve } from './payment-workflow-input.js';


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
  const mailbox: PaymentMailbox = { eventIds: [...(carried?.eventIds ?? [])], verifyMirror: carried?.verifyMirror ?? false, decision: null };
  installPaymentHandlers(state, mailbox);
  const { setStage, learn } = publishStages(state);
  const awaitOperator = operatorWait(state, mailbox, { setStage, learn }, decisions);
  const { eventIds } = mailbox;

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
          verifyMirror: mailbox.verifyMirror,
          resolve,
          runsBefore: (carried?.runsBefore ?? 0) + 1,
        },
      };
    };
    for (;;) {
      const wokenBy = eventIds.length;
      const verify: boolean = mailbox.verifyMirror;
      mailbox.verifyMirror = false;
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
        mailbox.verifyMirror ||= verify;
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
            mailbox.decision === null &&
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
