import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { LedgerActivities } from '../activities/ledger-activities.js';
import type { StripePaymentActivities } from '../activities/stripe-payment-activities.js';
import { attentionReasonForFailure } from '../src/domain/failure-types.js';
import {
  decidePayment,
  type AttentionReason,
  type NotPayableOutcome,
  type PaymentOutcome,
  type PaymentIntentSnapshot,
  type PaymentStage,
  type PaymentState,
  type RejectInput,
  type ResolveInput,
} from '../src/domain/payment.js';
import { AccountIdKey, AmountMinorKey, PaymentStageKey, StripeCustomerIdKey } from '../src/temporal/search-attributes.js';
import { stripeTaskQueueFor } from '../src/temporal/task-queues.js';
import { refusalOf, type OperatorActionName } from './operator-actions.js';
import { describePaymentState } from './payment-details.js';
import {
  REFUND_EVENT_TYPES,
  paymentEventSignal,
  paymentStateQuery,
  rejectUpdate,
  resolveUpdate,
  retryUpdate,
} from './payment-messages.js';
import { DEFAULT_TUNING, type PaymentWorkflowInput } from './payment-workflow-input.js';

type OperatorDecision = { kind: 'retry' } | { kind: 'resolve'; input: ResolveInput } | { kind: 'reject'; input: RejectInput };

/** Thrown inside the workflow when an operator rejects the payment; caught below, never escapes. */
class OperatorRejected extends Error {}

/**
 * One workflow per PaymentIntent (workflow id = `pi_…`): confirm requests and webhooks all converge here.
 *
 * load → (wait while processing) → map customer to account → ledger credit → Stripe balance credit
 * → mark the PaymentIntent → apply refunds. Every step is an idempotent activity; a step that cannot
 * go on by itself waits in `needs_attention` for an operator's `retry`, `resolve` or `reject`.
 */
export async function paymentWorkflow(input: PaymentWorkflowInput): Promise<PaymentOutcome> {
  const tuning = { ...DEFAULT_TUNING, ...input.tuning };
  const retry = { ...DEFAULT_TUNING.activityRetry, ...tuning.activityRetry, backoffCoefficient: 2 };
  const ledger = proxyActivities<LedgerActivities>({ startToCloseTimeout: tuning.activityTimeout, retry });
  const stripe = proxyActivities<StripePaymentActivities>({
    taskQueue: stripeTaskQueueFor(workflowInfo().taskQueue),
    startToCloseTimeout: tuning.activityTimeout,
    retry,
  });

  const state: PaymentState = {
    paymentIntentId: input.paymentIntentId,
    stage: 'loading',
    attention: null,
    accountId: null,
    customerId: null,
    amountMinor: null,
    currency: null,
    ledgerEntryId: null,
    outcome: null,
  };
  let noticesSeen = 0;
  let refundsToSync = false;
  let decision: OperatorDecision | null = null;
  /**
   * Records an accepted operator update and answers once the waiting step has taken it up (the payment has
   * left needs_attention). The update's input, note included, stays in the workflow history.
   */
  const decide = async (taken: OperatorDecision): Promise<PaymentState> => {
    decision = taken;
    log.info('operator decision', { paymentIntentId: input.paymentIntentId, decision: taken.kind, reason: state.attention?.reason });
    await condition(() => decision !== taken);
    return state;
  };

  /** Refuses an operator update that does not apply now (workflows/operator-actions.ts holds the rules). */
  const refuseUnless = (action: OperatorActionName) => {
    if (decision) throw ApplicationFailure.nonRetryable(`an operator's ${decision.kind} is already being applied`, 'DecisionPending');
    const refusal = refusalOf(action, state);
    if (refusal) throw ApplicationFailure.nonRetryable(refusal.message, refusal.type);
  };
  setHandler(paymentStateQuery, () => state);
  setHandler(paymentEventSignal, (notice) => {
    noticesSeen++;
    if (REFUND_EVENT_TYPES.includes(notice.eventType)) refundsToSync = true;
  });
  setHandler(retryUpdate, () => decide({ kind: 'retry' }), { validator: () => refuseUnless('retry') });
  setHandler(resolveUpdate, (resolve) => decide({ kind: 'resolve', input: resolve }), {
    validator: (resolve) => {
      refuseUnless('resolve');
      if (typeof resolve?.accountId !== 'string' || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(resolve.accountId)) {
        throw ApplicationFailure.nonRetryable('resolve needs {"accountId": "<account uuid>"}', 'InvalidResolve');
      }
    },
  });
  setHandler(rejectUpdate, (reject) => decide({ kind: 'reject', input: reject }), {
    validator: (reject) => {
      refuseUnless('reject');
      if (typeof reject?.reason !== 'string' || !reject.reason.trim()) throw ApplicationFailure.nonRetryable('reject needs {"reason": "…"}', 'InvalidReject');
    },
  });

  const show = () => setCurrentDetails(describePaymentState(state));
  const setStage = (stage: PaymentStage) => {
    if (state.stage !== stage) upsertSearchAttributes([{ key: PaymentStageKey, value: stage }]);
    state.stage = stage;
    show();
  };

  /** Waits in needs_attention for an operator; `reject` ends the payment. */
  async function awaitOperator(reason: AttentionReason, detail: string, failedStage: PaymentStage): Promise<OperatorDecision> {
    state.attention = { reason, detail, failedStage, since: new Date().toISOString() };
    setStage('needs_attention');
    await condition(() => decision !== null);
    const taken = decision!;
    decision = null;
    state.attention = null;
    if (taken.kind === 'reject') throw new OperatorRejected(taken.input.reason);
    setStage(failedStage);
    return taken;
  }

  /** Runs one step; when its activity gives up (typed failure or retry budget spent), an operator decides. */
  async function step<T>(stage: PaymentStage, run: () => Promise<T>): Promise<T> {
    for (;;) {
      setStage(stage);
      try {
        return await run();
      } catch (err) {
        if (!(err instanceof ActivityFailure)) throw err;
        const cause = err.cause instanceof ApplicationFailure ? err.cause : undefined;
        const reason = attentionReasonForFailure(cause?.type);
        const failure = err.cause?.message ?? err.message;
        const detail = reason === 'retries_exhausted' ? `${err.activityType} failed on every attempt of its retry budget; last failure: ${failure}` : failure;
        await awaitOperator(reason, detail, stage);
      }
    }
  }

  async function payableSnapshot(): Promise<{ payable: PaymentIntentSnapshot } | { notPayable: NotPayableOutcome }> {
    let snapshot = await step('loading', () => stripe.loadPaymentIntent(input.paymentIntentId));
    for (;;) {
      const verdict = decidePayment(snapshot);
      if (verdict.kind === 'proceed') return { payable: snapshot };
      if (verdict.kind === 'not_payable') {
        return { notPayable: { status: 'not_payable', paymentIntentId: snapshot.id, paymentIntentStatus: verdict.status } };
      }
      if (verdict.kind === 'wait_for_payment') {
        setStage('awaiting_payment');
        const seen = noticesSeen;
        await condition(() => noticesSeen > seen, tuning.processingRecheck);
      } else {
        await awaitOperator(verdict.reason, verdict.detail, 'loading');
      }
      snapshot = await step('loading', () => stripe.loadPaymentIntent(input.paymentIntentId));
    }
  }

  async function accountToCredit(customerId: string | null): Promise<string> {
    let operatorAccount: string | undefined;
    for (;;) {
      if (operatorAccount) {
        const candidate = operatorAccount;
        if (await step('loading', () => ledger.accountExists(candidate))) return candidate;
      } else if (customerId) {
        const found = await step('loading', () => ledger.findAccountIdForCustomer(customerId));
        if (found) return found;
      }
      const [reason, detail]: [AttentionReason, string] = operatorAccount
        ? ['unknown_account', `account ${operatorAccount} does not exist`]
        : customerId
          ? ['no_account_for_customer', `no payconfirm account is linked to Stripe customer ${customerId}`]
          : ['no_customer', 'the PaymentIntent has no Stripe customer'];
      const taken = await awaitOperator(reason, detail, 'loading');
      if (taken.kind === 'resolve') operatorAccount = taken.input.accountId;
    }
  }

  const finish = async (outcome: PaymentOutcome): Promise<PaymentOutcome> => {
    state.outcome = outcome;
    setStage(outcome.status);
    await condition(allHandlersFinished);
    return outcome;
  };

  try {
    const loaded = await payableSnapshot();
    if ('notPayable' in loaded) return await finish(loaded.notPayable);
    const pi = loaded.payable;
    Object.assign(state, { customerId: pi.customerId, amountMinor: pi.amountReceivedMinor, currency: pi.currency });
    upsertSearchAttributes([
      { key: AmountMinorKey, value: pi.amountReceivedMinor },
      ...(pi.customerId ? [{ key: StripeCustomerIdKey, value: pi.customerId }] : []),
    ]);

    const accountId = await accountToCredit(pi.customerId);
    state.accountId = accountId;
    upsertSearchAttributes([{ key: AccountIdKey, value: accountId }]);

    const credit = await step('crediting_ledger', () =>
      ledger.creditLedgerForPayment({ accountId, paymentIntentId: pi.id, amountMinor: pi.amountReceivedMinor, currency: pi.currency }),
    );
    state.ledgerEntryId = credit.ledgerEntryId;

    let balanceTransactionId: string | null = null;
    if (pi.customerId) {
      const customerId = pi.customerId;
      const known = pi.metadata.balance_transaction_id || null;
      const result = await step('crediting_stripe', () =>
        stripe.creditCustomerBalance({
          paymentIntentId: pi.id,
          customerId,
          amountMinor: pi.amountReceivedMinor,
          currency: pi.currency,
          ledgerEntryId: credit.ledgerEntryId,
          knownBalanceTransactionId: known,
        }),
      );
      balanceTransactionId = result.balanceTransactionId;
    }

    await step('marking', () =>
      stripe.markPaymentIntentCredited({
        paymentIntentId: pi.id,
        ledgerEntryId: credit.ledgerEntryId,
        balanceTransactionId,
        currentMetadata: pi.metadata,
      }),
    );

    // Refund events may arrive before, during or after the credit: debit each refund once, after it.
    while (refundsToSync) {
      refundsToSync = false;
      const refunds = await step('crediting_ledger', () => stripe.listSucceededRefunds(pi.id));
      if (refunds.length) await step('crediting_ledger', () => ledger.debitRefundsInLedger({ accountId, paymentIntentId: pi.id, refunds }));
    }

    return await finish({
      status: 'credited',
      paymentIntentId: pi.id,
      accountId,
      ledgerEntryId: credit.ledgerEntryId,
      amountMinor: pi.amountReceivedMinor,
      currency: pi.currency,
      creditedAt: credit.creditedAt,
      ledgerEntryCreated: credit.created,
      balanceTransactionId,
    });
  } catch (err) {
    if (err instanceof OperatorRejected) {
      return await finish({ status: 'rejected', paymentIntentId: input.paymentIntentId, reason: err.message });
    }
    throw err;
  }
}
