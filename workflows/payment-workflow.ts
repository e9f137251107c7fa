import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  log,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { LedgerActivities } from '../activities/ledger-activities.js';
import type { StripePaymentActivities } from '../activities/stripe-payment-activities.js';
import { attentionReasonForFailure, FAILURE_TYPES } from '../src/domain/failure-types.js';
import type { NewDecision } from '../src/db/payment-books.js';
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
import { netMinor } from '../src/domain/payment-movements.js';
import { planPayment, planStripeSync, type PaymentBooks } from '../src/domain/payment-plan.js';
import type { PaymentTruth } from '../src/domain/payment-truth.js';
import { AccountIdKey, AmountMinorKey, PaymentStageKey, StripeCustomerIdKey } from '../src/temporal/search-attributes.js';
import { stripeTaskQueueFor } from '../src/temporal/task-queues.js';
import { MIRROR_STAGE, refusalOf, type OperatorActionName } from './operator-actions.js';
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
import { DEFAULT_TUNING, type PaymentWorkflowInput } from './payment-workflow-input.js';

type OperatorDecision =
  | { kind: 'retry' }
  | { kind: 'resolve'; input: ResolveInput }
  | { kind: 'reject'; input: RejectInput }
  | { kind: 'skipMirror'; input: SkipMirrorInput };

/** Thrown inside the workflow when an operator rejects the payment; caught below, never escapes. */
class OperatorRejected extends Error {}
/** Thrown when an operator's decision changes the plan (skip-mirror): the wake starts over from the books. */
class Replan extends Error {}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * One workflow per PaymentIntent (workflow id = `pi_…`): confirm requests and every Stripe event about the
 * PaymentIntent, its charge, refunds and disputes converge here. Events wake it; Stripe decides.
 *
 * Each wake: read the books (Postgres) → read Stripe's truth → `planPayment` (src/domain/payment-plan.ts) →
 * apply the movements the ledger lacks, to the account of record → `planStripeSync` → mirror each movement on
 * the Stripe customer balance and mark the PaymentIntent. Wakes that arrive meanwhile run another pass; the run
 * ends once converged (a later event starts a new run, which converges the same way). A step that cannot go on
 * waits in `needs_attention` for an operator's `retry`, `resolve`, `reject` or `skipMirror`, each recorded in
 * Postgres so it binds every later run.
 */
export async function paymentWorkflow(input: PaymentWorkflowInput): Promise<PaymentOutcome> {
  const tuning = { ...DEFAULT_TUNING, ...input.tuning };
  const retry = { ...DEFAULT_TUNING.activityRetry, ...tuning.activityRetry, backoffCoefficient: 2 };
  const books = proxyLocalActivities<LedgerActivities>({ startToCloseTimeout: tuning.activityTimeout, retry });
  // An operator's decision must land, however long Postgres is away: no attempt limit, the same backoff.
  const decisions = proxyLocalActivities<LedgerActivities>({
    startToCloseTimeout: tuning.activityTimeout,
    retry: { ...retry, maximumAttempts: Number.POSITIVE_INFINITY, nonRetryableErrorTypes: [] },
  });
  const stripe = proxyActivities<StripePaymentActivities>({
    taskQueue: stripeTaskQueueFor(workflowInfo().taskQueue),
    startToCloseTimeout: tuning.activityTimeout,
    retry,
  });
  const pi = input.paymentIntentId;

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
  /** Ids of the Stripe events that woke this run (their inbox rows learn a not_eligible verdict). */
  const eventIds: string[] = [];
  let decision: OperatorDecision | null = null;
  /**
   * Records an accepted operator update and answers once the waiting step has taken it up (the payment has
   * left needs_attention). The update's input, note included, stays in the workflow history and in Postgres.
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
  const requireReason = (input: { reason?: unknown } | undefined, action: string) => {
    if (typeof input?.reason !== 'string' || !input.reason.trim()) throw ApplicationFailure.nonRetryable(`${action} needs {"reason": "…"}`, 'InvalidReason');
  };
  setHandler(paymentStateQuery, () => state);
  /** Set by a reconcile wake: the next pass checks the recorded mirror transactions against Stripe. */
  let verifyMirror = false;
  setHandler(paymentEventSignal, (notice) => {
    if (!eventIds.includes(notice.eventId)) eventIds.push(notice.eventId);
    if (notice.eventType === RECONCILE_NOTICE_TYPE) verifyMirror = true;
  });
  setHandler(retryUpdate, () => decide({ kind: 'retry' }), { validator: () => refuseUnless('retry') });
  setHandler(resolveUpdate, (resolve) => decide({ kind: 'resolve', input: resolve }), {
    validator: (resolve) => {
      refuseUnless('resolve');
      if (typeof resolve?.accountId !== 'string' || !UUID.test(resolve.accountId)) {
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

  const show = () => setCurrentDetails(describePaymentState(state));
  /** Search-attribute facts learnt since the last upsert (amount, customer, account): sent with the next stage change. */
  const learnt = new Map<string, SearchAttributeUpdatePair>();
  const sent = new Map<string, unknown>();
  const learn = (pair: SearchAttributeUpdatePair) => {
    if (sent.get(pair.key.name) !== pair.value) learnt.set(pair.key.name, pair);
  };
  /** One search-attribute upsert per stage change, carrying the facts learnt with it (fewer history events). */
  const setStage = (stage: PaymentStage) => {
    if (state.stage !== stage) {
      const changes = [{ key: PaymentStageKey, value: stage } as SearchAttributeUpdatePair, ...learnt.values()];
      upsertSearchAttributes(changes);
      for (const c of changes) sent.set(c.key.name, c.value);
      learnt.clear();
    }
    state.stage = stage;
    show();
  };

  /**
   * Stores an operator decision in Postgres. The database refuses reject and resolve once the payment is credited
   * (a run that raced this one): the wake then starts over from the books, which now hold the credit.
   */
  async function recordDecision(d: NewDecision): Promise<void> {
    try {
      await decisions.recordOperatorDecision(d);
    } catch (err) {
      if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === FAILURE_TYPES.decisionRefused) throw new Replan();
      throw err;
    }
  }

  /** Waits in needs_attention for an operator; records the decision in Postgres; `reject` ends the payment. */
  async function awaitOperator(reason: AttentionReason, detail: string, failedStage: PaymentStage): Promise<OperatorDecision> {
    state.attention = { reason, detail, failedStage, since: new Date().toISOString() };
    setStage('needs_attention');
    await condition(() => decision !== null);
    const taken = decision!;
    // resolve is recorded once its account is found (accountToCredit); the others now.
    if (taken.kind !== 'resolve') {
      await recordDecision({
        paymentIntentId: pi,
        attentionReason: reason,
        decision: taken.kind === 'skipMirror' ? 'skip_mirror' : taken.kind,
        reason: taken.kind === 'retry' ? null : taken.input.reason,
      });
    }
    decision = null;
    state.attention = null;
    if (taken.kind === 'reject') throw new OperatorRejected(taken.input.reason);
    setStage(failedStage);
    if (taken.kind === 'skipMirror') throw new Replan();
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
        if (cause?.type === FAILURE_TYPES.paymentRejected) throw new Replan(); // a reject recorded meanwhile: the books say so
        const reason = attentionReasonForFailure(cause?.type);
        const failure = err.cause?.message ?? err.message;
        const detail = reason === 'retries_exhausted' ? `${err.activityType} failed on every attempt of its retry budget; last failure: ${failure}` : failure;
        await awaitOperator(reason, detail, stage);
      }
    }
  }

  /** The account to credit first (no account of record yet): the operator's resolve, else Stripe's customer. */
  async function accountToCredit(truth: PaymentTruth, current: PaymentBooks): Promise<{ accountId: string; stripeCustomerId: string }> {
    let resolvedAccountId = current.decisions.resolvedAccountId;
    let resolve: { note: string | null; reason: AttentionReason } | null = null;
    for (;;) {
      const found = await step('loading', () => books.findAccountToCredit({ customerId: truth.paymentIntent.customerId, resolvedAccountId }));
      if (found.found) {
        if (resolve) {
          await recordDecision({ paymentIntentId: pi, decision: 'resolve', accountId: found.accountId, reason: resolve.note, attentionReason: resolve.reason });
        }
        return found;
      }
      const taken = await awaitOperator(found.reason, found.detail, 'loading');
      if (taken.kind === 'resolve') {
        resolvedAccountId = taken.input.accountId ?? null;
        resolve = { note: taken.input.note ?? null, reason: found.reason };
      }
    }
  }

  const finish = async (outcome: PaymentOutcome): Promise<PaymentOutcome> => {
    state.outcome = outcome;
    setStage(outcome.status);
    await condition(allHandlersFinished);
    return outcome;
  };

  /** One pass over the payment's money: read both sides, apply what is missing. Returns the outcome when it ends the run. */
  async function converge(): Promise<PaymentOutcome | 'wait'> {
    const loaded = await step('loading', () => books.loadPaymentBooks(pi));
    let current = loaded.books;
    const policy = loaded.policy;
    if (current.decisions.rejected !== null) return { status: 'rejected', paymentIntentId: pi, reason: current.decisions.rejected };
    const truth = await step('loading', () =>
      stripe.readPaymentTruth({
        paymentIntentId: pi,
        refundsBooked: current.movements.some((m) => m.kind.startsWith('refund_')),
        disputesBooked: current.movements.some((m) => m.kind.startsWith('dispute_')),
      }),
    );
    const snapshot = truth.paymentIntent;
    Object.assign(state, { customerId: snapshot.customerId, amountMinor: snapshot.amountReceivedMinor, currency: snapshot.currency });
    learn({ key: AmountMinorKey, value: snapshot.amountReceivedMinor });
    if (snapshot.customerId) learn({ key: StripeCustomerIdKey, value: snapshot.customerId });
    const plan = planPayment(truth, current, policy);
    switch (plan.kind) {
      case 'rejected':
        return { status: 'rejected', paymentIntentId: pi, reason: plan.reason };
      case 'not_eligible':
        await books.recordEventsIgnored({ eventIds, outcome: plan.why });
        return { status: 'not_eligible', paymentIntentId: pi, why: plan.why };
      case 'not_payable':
        return { status: 'not_payable', paymentIntentId: pi, paymentIntentStatus: plan.status };
      case 'wait_for_payment':
        return 'wait';
      case 'attention':
        await awaitOperator(plan.reason, plan.detail, 'loading');
        throw new Replan();
      case 'apply':
        break;
    }

    const account = current.accountOfRecord ?? (await accountToCredit(truth, current));
    state.accountId = account.accountId;
    learn({ key: AccountIdKey, value: account.accountId });
    let created: string[] = [];
    if (plan.movements.length > 0) {
      const movements = plan.movements;
      setStage('crediting_ledger');
      ({ books: current, created } = await step('crediting_ledger', () =>
        books.applyPaymentMovements({ paymentIntentId: pi, accountId: account.accountId, movements }),
      ));
    }
    const credit = current.movements.find((m) => m.kind === 'payment_credit');
    if (!credit) throw ApplicationFailure.nonRetryable(`the books of ${pi} hold no credit after applying it`, 'BooksInconsistent');
    state.ledgerEntryId = credit.ledgerEntryId;
    state.netMinor = netMinor(current.movements);

    const sync = planStripeSync(current, snapshot.metadata, policy);
    const verify = verifyMirror && sync.mirror === 'on';
    verifyMirror = false;
    let creditMirror = credit.balanceTransactionId;
    if (sync.toMirror.length > 0 || sync.mark || verify) {
      setStage(MIRROR_STAGE);
      const synced = await step(MIRROR_STAGE, () =>
        stripe.syncStripeBooks({
          paymentIntentId: pi,
          mirror: sync.toMirror.length > 0 ? { customerId: account.stripeCustomerId, movements: sync.toMirror, createdThisRun: created } : null,
          verify: verify ? { customerId: account.stripeCustomerId, movements: current.movements.filter((m) => m.balanceTransactionId !== null) } : null,
          mark: sync.mark ? { ledgerEntryId: credit.ledgerEntryId, creditMovementKey: credit.key, knownBalanceTransactionId: credit.balanceTransactionId } : null,
        }),
      );
      creditMirror = synced.repaired[credit.key] ?? synced.mirrored[credit.key] ?? creditMirror;
    }
    const outcome: CreditedOutcome = {
      status: 'credited',
      paymentIntentId: pi,
      accountId: account.accountId,
      ledgerEntryId: credit.ledgerEntryId,
      amountMinor: credit.amountMinor,
      currency: credit.currency,
      creditedAt: credit.createdAt,
      ledgerEntryCreated: created.includes(credit.key),
      balanceTransactionId: sync.mirror === 'on' ? creditMirror : null,
      netMinor: netMinor(current.movements),
      movements: current.movements.length,
      mirror: sync.mirror,
    };
    return outcome;
  }

  try {
    let outcome: PaymentOutcome | null = null;
    let creditedOnce: CreditedOutcome | null = null;
    for (;;) {
      const wokenBy = eventIds.length;
      let pass: PaymentOutcome | 'wait';
      try {
        pass = await converge();
      } catch (err) {
        if (err instanceof Replan) continue;
        throw err;
      }
      if (pass === 'wait') {
        setStage('awaiting_payment');
        await condition(() => eventIds.length > wokenBy, tuning.processingRecheck);
        continue;
      }
      outcome = pass;
      if (pass.status === 'credited') {
        // The first pass that credited is what callers were told: keep its "created" flag across later passes.
        creditedOnce = creditedOnce ? { ...pass, ledgerEntryCreated: creditedOnce.ledgerEntryCreated || pass.ledgerEntryCreated } : pass;
        outcome = creditedOnce;
      }
      if (eventIds.length === wokenBy || pass.status !== 'credited') break; // converged, unless an event came meanwhile
    }
    return await finish(outcome);
  } catch (err) {
    if (err instanceof OperatorRejected) return await finish({ status: 'rejected', paymentIntentId: pi, reason: err.message });
    throw err;
  }
}
