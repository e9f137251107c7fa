import { ApplicationFailure, Context } from '@temporalio/activity';
import { findAccountById, findAccountByStripeCustomer } from '../src/db/accounts.js';
import { releaseHold } from '../src/db/balance-holds.js';
import { LedgerIdempotencyConflictError } from '../src/db/ledger.js';
import {
  AccountOfRecordError,
  applyMovements,
  DecisionRefusedError,
  loadPaymentBooks,
  PaymentRejectedError,
  recordDecision,
} from '../src/db/payment-books.js';
import type { Pool } from '../src/db/pool.js';
import { markEventsIgnoredByPayment } from '../src/db/webhook-inbox.js';
import type { MoneyPolicy } from '../src/domain/credit-policy.js';
import { FAILURE_TYPES } from '../src/domain/failure-types.js';
import { MIRROR_STAGE, type AttentionReason, type CreditedOutcome, type PaymentIntentStatus, type PaymentStage } from '../src/domain/payment.js';
import { netMinor, type Movement } from '../src/domain/payment-movements.js';
import { planPayment, planStripeSync, type PaymentBooks } from '../src/domain/payment-plan.js';
import type { PaymentTruth } from '../src/domain/payment-truth.js';
import { holdsFreedByStripe } from '../src/domain/refund-allowance.js';
import type { Metrics } from '../src/metrics.js';
import { readPaymentTruth, truthHintsOf } from '../src/stripe/read-payment-truth.js';
import { createStripeBooksSync } from './stripe-books-sync.js';
import type { StripeClient } from '../src/stripe/stripe-client.js';
import { toActivityFailure } from './stripe-activity-failure.js';

/** A truth handed in by the caller (confirm's own read) is used only while it is this fresh. */
export const HANDED_TRUTH_MAX_AGE_MS = 30_000;

export interface PaymentActivityDeps {
  stripe: StripeClient;
  pool: Pool;
  /** CREDIT_PAYMENT_INTENTS and STRIPE_BALANCE_MIRROR of this deployment. */
  policy: MoneyPolicy;
  metrics?: Metrics;
  /** The running attempt (1 = first); a seam for calling the activity outside a worker. */
  currentAttempt?: () => number;
  /** Where the pass is, for people looking at the pending activity (heartbeat details); a seam likewise. */
  reportStage?: (stage: PaymentStage) => void;
}

export interface ConvergePaymentInput {
  paymentIntentId: string;
  /** Stripe's truth as the caller just read it (confirm): stands in for this pass's read on a first attempt. */
  handedTruth?: { truth: PaymentTruth; readAtMs: number } | null;
  /** An operator's resolve, recorded here once its account is found (it binds every later run). */
  resolve?: { accountId: string; note: string | null; attentionReason: AttentionReason } | null;
  /** Check every recorded mirror transaction against the Stripe customer (a `payconfirm reconcile --fix` wake). */
  verifyMirror?: boolean;
  /** The events that woke the run: their inbox rows learn a not_eligible verdict. */
  eventIds?: string[];
}

/** What the workflow shows of a payment (its `state` query, search attributes, the UI's details). */
export interface PaymentFacts {
  customerId: string | null;
  amountMinor: number | null;
  currency: string | null;
  accountId: string | null;
  ledgerEntryId: string | null;
  netMinor: number | null;
}

export type ConvergeResult =
  | { kind: 'rejected'; reason: string; facts: PaymentFacts }
  | { kind: 'not_eligible'; why: string; facts: PaymentFacts }
  | { kind: 'not_payable'; status: PaymentIntentStatus; facts: PaymentFacts }
  | { kind: 'wait_for_payment'; facts: PaymentFacts }
  | { kind: 'attention'; reason: AttentionReason; detail: string; stage: PaymentStage; facts: PaymentFacts }
  | { kind: 'converged'; outcome: CreditedOutcome; facts: PaymentFacts };

/** Details of every failure `convergePayment` throws: where the pass stood, for the operator's view. */
export interface ConvergeFailureDetails {
  stage: PaymentStage;
  facts: PaymentFacts;
  /** Ledger keys the failed attempt wrote (so the run still knows it credited, when a later step failed). */
  createdNow: string[];
}

const NO_FACTS: PaymentFacts = { customerId: null, amountMinor: null, currency: null, accountId: null, ledgerEntryId: null, netMinor: null };

function factsOf(books: PaymentBooks, truth: PaymentTruth | null): PaymentFacts {
  const credit = books.movements.find((m) => m.kind === 'payment_credit');
  return {
    customerId: truth?.paymentIntent.customerId ?? null,
    amountMinor: credit?.amountMinor ?? truth?.paymentIntent.amountReceivedMinor ?? null,
    currency: credit?.currency ?? truth?.paymentIntent.currency ?? null,
    accountId: books.accountOfRecord?.accountId ?? null,
    ledgerEntryId: credit?.ledgerEntryId ?? null,
    netMinor: credit ? netMinor(books.movements) : null,
  };
}

/** Re-throws any error as a Temporal failure carrying the stage it stopped at (type and retry semantics kept). */
function failedAt(err: unknown, details: ConvergeFailureDetails): ApplicationFailure {
  const failure = err instanceof ApplicationFailure ? err : null;
  return ApplicationFailure.create({
    message: err instanceof Error ? err.message : String(err),
    type: failure?.type ?? (err instanceof Error ? err.name : 'Error'),
    nonRetryable: failure?.nonRetryable ?? false,
    details: [details],
    ...(failure?.nextRetryDelay !== undefined ? { nextRetryDelay: failure.nextRetryDelay } : {}),
  });
}

/**
 * The payment's pass (a local activity of its workflow; each Stripe request taken from the request budget every
 * process shares, src/stripe/stripe-request-budget.ts): a whole pass of the money model. Read the books (Postgres) → read Stripe's truth (one GET for a plain payment) → `planPayment` →
 * find the account (first credit only) → apply the missing movements in one transaction → `planStripeSync` →
 * mirror and mark (two POSTs for a plain credit). Every step is idempotent, so a retry — or another run —
 * simply converges from wherever the last attempt stopped. Business outcomes come back as results; failures
 * carry the stage they stopped at.
 */
export function createPaymentActivities({
  stripe,
  pool,
  policy,
  metrics,
  currentAttempt = () => Context.current().info.attempt,
  reportStage = (stage) => Context.current().heartbeat({ stage }),
}: PaymentActivityDeps) {
  const stripeBooks = createStripeBooksSync({ stripe, pool, ...(metrics ? { metrics } : {}) });

  async function findAccountToCredit(customerId: string | null, resolvedAccountId: string | null) {
    if (resolvedAccountId) {
      const account = await findAccountById(pool, resolvedAccountId);
      return account
        ? ({ found: true, accountId: account.id, stripeCustomerId: account.stripeCustomerId } as const)
        : ({ found: false, reason: 'unknown_account', detail: `account ${resolvedAccountId} does not exist` } as const);
    }
    if (!customerId) return { found: false, reason: 'no_customer', detail: 'the PaymentIntent has no Stripe customer' } as const;
    const account = await findAccountByStripeCustomer(pool, customerId);
    return account
      ? ({ found: true, accountId: account.id, stripeCustomerId: account.stripeCustomerId } as const)
      : ({ found: false, reason: 'no_account_for_customer', detail: `no payconfirm account is linked to Stripe customer ${customerId}` } as const);
  }

  /**
   * The pass in named phases (as brandur's rocket-rides-atomic runs a request): each phase does one kind of work
   * and says which comes next, so a reader follows the money from phase to phase, and a failure knows where it
   * stopped (`pass.stage`, shown to operators).
   *   read      — the books (Postgres), Stripe's truth (one GET for a plain payment), `planPayment`
   *   account   — the account of record, or the account to credit first (Stripe's customer, or an operator's resolve)
   *   ledger    — the missing movements in one transaction; holds freed by failed API refunds
   *   stripe    — `planStripeSync`: mirror and mark (two POSTs for a plain credit), then the credited outcome
   */
  type AccountOfRecord = NonNullable<PaymentBooks['accountOfRecord']>;
  type Step =
    | { phase: 'read' }
    | { phase: 'account'; books: PaymentBooks; truth: PaymentTruth; movements: Movement[] }
    | { phase: 'ledger'; books: PaymentBooks; truth: PaymentTruth; movements: Movement[]; account: AccountOfRecord }
    | { phase: 'stripe'; books: PaymentBooks; truth: PaymentTruth; account: AccountOfRecord }
    | { phase: 'done'; result: ConvergeResult };

  /** Where a pass stands: what a failure's details carry. */
  interface Pass {
    input: ConvergePaymentInput;
    stage: PaymentStage;
    facts: PaymentFacts;
    /** Ledger keys this attempt wrote. */
    createdNow: string[];
  }

  const enter = (pass: Pass, stage: PaymentStage) => {
    pass.stage = stage;
    reportStage(stage);
  };

  async function read(pass: Pass): Promise<Step> {
    const pi = pass.input.paymentIntentId;
    const books = await loadPaymentBooks(pool, pi);
    pass.facts = factsOf(books, null);
    // Before Stripe is asked: a recorded reject ends the run without a read (planPayment would say the same).
    if (books.decisions.rejected !== null) return { phase: 'done', result: { kind: 'rejected', reason: books.decisions.rejected, facts: pass.facts } };
    const handed = pass.input.handedTruth;
    const truth =
      handed && currentAttempt() === 1 && Date.now() - handed.readAtMs <= HANDED_TRUTH_MAX_AGE_MS
        ? handed.truth
        : await readPaymentTruth(stripe, pi, truthHintsOf(books)).catch((err: unknown) => Promise.reject(toActivityFailure(err, `read ${pi}`)));
    pass.facts = factsOf(books, truth);
    const plan = planPayment(truth, books, policy);
    const facts = pass.facts;
    switch (plan.kind) {
      case 'rejected':
        return { phase: 'done', result: { kind: 'rejected', reason: plan.reason, facts } };
      case 'not_eligible':
        await markEventsIgnoredByPayment(pool, pass.input.eventIds ?? [], plan.why);
        return { phase: 'done', result: { kind: 'not_eligible', why: plan.why, facts } };
      case 'not_payable':
        return { phase: 'done', result: { kind: 'not_payable', status: plan.status, facts } };
      case 'wait_for_payment':
        return { phase: 'done', result: { kind: 'wait_for_payment', facts } };
      case 'attention':
        return { phase: 'done', result: { kind: 'attention', reason: plan.reason, detail: plan.detail, stage: pass.stage, facts } };
      case 'apply':
        return { phase: 'account', books, truth, movements: plan.movements };
    }
  }

  async function chooseAccount(pass: Pass, step: Extract<Step, { phase: 'account' }>): Promise<Step> {
    const { books, truth, movements } = step;
    if (books.accountOfRecord) return { ...step, phase: 'ledger', account: books.accountOfRecord };
    const resolve = pass.input.resolve;
    const found = await findAccountToCredit(truth.paymentIntent.customerId, resolve?.accountId ?? books.decisions.resolvedAccountId);
    if (!found.found) return { phase: 'done', result: { kind: 'attention', reason: found.reason, detail: found.detail, stage: pass.stage, facts: pass.facts } };
    if (resolve) {
      await recordDecision(pool, {
        paymentIntentId: pass.input.paymentIntentId,
        decision: 'resolve',
        accountId: found.accountId,
        reason: resolve.note,
        attentionReason: resolve.attentionReason,
      });
    }
    return { phase: 'ledger', books, truth, movements, account: { accountId: found.accountId, stripeCustomerId: found.stripeCustomerId } };
  }

  async function applyLedger(pass: Pass, step: Extract<Step, { phase: 'ledger' }>): Promise<Step> {
    const { truth, movements, account } = step;
    let books = step.books;
    pass.facts = { ...pass.facts, accountId: account.accountId };
    enter(pass, 'crediting_ledger');
    if (movements.length > 0) {
      const results = await applyMovements(pool, account.accountId, movements);
      pass.createdNow = results.filter((r) => r.created).map((r) => r.entry.idempotencyKey);
      for (const r of results) {
        metrics?.ledgerMovements.inc({ kind: r.entry.kind, result: r.created ? 'created' : 'existing' });
        if (r.entry.kind === 'payment_credit') metrics?.credits.inc({ result: r.created ? 'created' : 'existing' });
        if (!r.created) metrics?.duplicatesStopped.inc({ guard: 'ledger_key' });
      }
      books = await loadPaymentBooks(pool, pass.input.paymentIntentId);
    }
    // A refund asked through the API that failed before its debit: the credits it reserved are the account's again.
    for (const holdId of holdsFreedByStripe(truth, books.openHoldIds ?? [])) await releaseHold(pool, holdId);
    pass.facts = factsOf(books, truth);
    return { phase: 'stripe', books, truth, account };
  }

  async function syncStripe(pass: Pass, step: Extract<Step, { phase: 'stripe' }>): Promise<Step> {
    const { books, truth, account } = step;
    const pi = pass.input.paymentIntentId;
    const credit = books.movements.find((m) => m.kind === 'payment_credit');
    if (!credit) throw ApplicationFailure.nonRetryable(`the books of ${pi} hold no credit after applying it`, FAILURE_TYPES.ledgerConflict);
    enter(pass, MIRROR_STAGE);
    const sync = planStripeSync(books, truth.paymentIntent.metadata, policy);
    const verify = pass.input.verifyMirror === true && sync.mirror === 'on';
    let creditMirror = credit.balanceTransactionId;
    if (sync.toMirror.length > 0 || sync.mark || verify) {
      const synced = await stripeBooks.syncStripeBooks({
        paymentIntentId: pi,
        mirror: sync.toMirror.length > 0 ? { customerId: account.stripeCustomerId, movements: sync.toMirror, createdNow: pass.createdNow } : null,
        verify: verify ? { customerId: account.stripeCustomerId, movements: books.movements.filter((m) => m.balanceTransactionId !== null) } : null,
        mark: sync.mark ? { ledgerEntryId: credit.ledgerEntryId, creditMovementKey: credit.key, knownBalanceTransactionId: credit.balanceTransactionId } : null,
      });
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
      ledgerEntryCreated: pass.createdNow.includes(credit.key),
      balanceTransactionId: sync.mirror === 'on' ? creditMirror : null,
      netMinor: netMinor(books.movements),
      movements: books.movements.length,
      mirror: sync.mirror,
    };
    return { phase: 'done', result: { kind: 'converged', facts: pass.facts, outcome } };
  }

  /** Turns what a phase threw into the failure the workflow sees, with where the pass stood. */
  async function failure(pass: Pass, err: unknown): Promise<ConvergeResult> {
    const where = () => ({ stage: pass.stage, facts: pass.facts, createdNow: pass.createdNow });
    if (err instanceof PaymentRejectedError) {
      const books = await loadPaymentBooks(pool, pass.input.paymentIntentId);
      return { kind: 'rejected', reason: books.decisions.rejected ?? err.message, facts: pass.facts };
    }
    if (err instanceof LedgerIdempotencyConflictError || err instanceof AccountOfRecordError) {
      throw failedAt(ApplicationFailure.nonRetryable(err.message, FAILURE_TYPES.ledgerConflict), where());
    }
    // A resolve refused because the payment was credited meanwhile: the next attempt finds the credit.
    if (err instanceof DecisionRefusedError) throw failedAt(ApplicationFailure.retryable(err.message, FAILURE_TYPES.creditedMeanwhile), where());
    throw failedAt(err, where());
  }

  return {
    /** One pass: the phases above, in order, until one is done. */
    async convergePayment(input: ConvergePaymentInput): Promise<ConvergeResult> {
      const pass: Pass = { input, stage: 'loading', facts: NO_FACTS, createdNow: [] };
      let step: Step = { phase: 'read' };
      try {
        for (;;) {
          switch (step.phase) {
            case 'read':
              step = await read(pass);
              break;
            case 'account':
              step = await chooseAccount(pass, step);
              break;
            case 'ledger':
              step = await applyLedger(pass, step);
              break;
            case 'stripe':
              step = await syncStripe(pass, step);
              break;
            case 'done':
              return step.result;
          }
        }
      } catch (err) {
        return failure(pass, err);
      }
    },
  };
}

export type PaymentActivities = ReturnType<typeof createPaymentActivities>;
