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
import { netMinor } from '../src/domain/payment-movements.js';
import { planPayment, planStripeSync, type PaymentBooks } from '../src/domain/payment-plan.js';
import type { PaymentTruth } from '../src/domain/payment-truth.js';
import { holdsFreedByStripe } from '../src/domain/refund-allowance.js';
import type { Metrics } from '../src/metrics.js';
import { readPaymentTruth, truthHintsOf } from '../src/stripe/read-payment-truth.js';
import { createStripeBooksSync } from '../src/stripe/stripe-books-sync.js';
import type { StripeClient } from '../src/stripe/stripe-client.js';
import { toActivityFailure } from '../src/stripe/stripe-failures.js';

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
 * The payment's one activity: a whole pass of the money model, on the Stripe task queue (each Stripe request taken
 * from the request budget every process shares, src/stripe/stripe-request-budget.ts). Read the books (Postgres) → read Stripe's truth (one GET for a plain payment) → `planPayment` →
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

  return {
    async convergePayment(input: ConvergePaymentInput): Promise<ConvergeResult> {
      const pi = input.paymentIntentId;
      let stage: PaymentStage = 'loading';
      let facts = NO_FACTS;
      let createdNow: string[] = [];
      const at = (next: PaymentStage) => {
        stage = next;
        reportStage(next);
      };
      try {
        let books = await loadPaymentBooks(pool, pi);
        facts = factsOf(books, null);
        if (books.decisions.rejected !== null) return { kind: 'rejected', reason: books.decisions.rejected, facts };

        const handed = input.handedTruth;
        const truth =
          handed && currentAttempt() === 1 && Date.now() - handed.readAtMs <= HANDED_TRUTH_MAX_AGE_MS
            ? handed.truth
            : await readPaymentTruth(stripe, pi, truthHintsOf(books)).catch((err: unknown) => Promise.reject(toActivityFailure(err, `read ${pi}`)));
        facts = factsOf(books, truth);

        const plan = planPayment(truth, books, policy);
        switch (plan.kind) {
          case 'rejected':
            return { kind: 'rejected', reason: plan.reason, facts };
          case 'not_eligible':
            await markEventsIgnoredByPayment(pool, input.eventIds ?? [], plan.why);
            return { kind: 'not_eligible', why: plan.why, facts };
          case 'not_payable':
            return { kind: 'not_payable', status: plan.status, facts };
          case 'wait_for_payment':
            return { kind: 'wait_for_payment', facts };
          case 'attention':
            return { kind: 'attention', reason: plan.reason, detail: plan.detail, stage, facts };
          case 'apply':
            break;
        }

        let account = books.accountOfRecord;
        if (!account) {
          const found = await findAccountToCredit(truth.paymentIntent.customerId, input.resolve?.accountId ?? books.decisions.resolvedAccountId);
          if (!found.found) return { kind: 'attention', reason: found.reason, detail: found.detail, stage, facts };
          if (input.resolve) {
            await recordDecision(pool, {
              paymentIntentId: pi,
              decision: 'resolve',
              accountId: found.accountId,
              reason: input.resolve.note,
              attentionReason: input.resolve.attentionReason,
            });
          }
          account = { accountId: found.accountId, stripeCustomerId: found.stripeCustomerId };
        }
        facts = { ...facts, accountId: account.accountId };

        at('crediting_ledger');
        if (plan.movements.length > 0) {
          const results = await applyMovements(pool, account.accountId, plan.movements);
          createdNow = results.filter((r) => r.created).map((r) => r.entry.idempotencyKey);
          for (const r of results) {
            metrics?.ledgerMovements.inc({ kind: r.entry.kind, result: r.created ? 'created' : 'existing' });
            if (r.entry.kind === 'payment_credit') metrics?.credits.inc({ result: r.created ? 'created' : 'existing' });
            if (!r.created) metrics?.duplicatesStopped.inc({ guard: 'ledger_key' });
          }
          books = await loadPaymentBooks(pool, pi);
        }
        // A refund asked through the API that failed before its debit: the credits it reserved are the account's again.
        for (const holdId of holdsFreedByStripe(truth, books.openHoldIds ?? [])) await releaseHold(pool, holdId);
        facts = factsOf(books, truth);
        const credit = books.movements.find((m) => m.kind === 'payment_credit');
        if (!credit) throw ApplicationFailure.nonRetryable(`the books of ${pi} hold no credit after applying it`, FAILURE_TYPES.ledgerConflict);

        at(MIRROR_STAGE);
        const sync = planStripeSync(books, truth.paymentIntent.metadata, policy);
        const verify = input.verifyMirror === true && sync.mirror === 'on';
        let creditMirror = credit.balanceTransactionId;
        if (sync.toMirror.length > 0 || sync.mark || verify) {
          const synced = await stripeBooks.syncStripeBooks({
            paymentIntentId: pi,
            mirror: sync.toMirror.length > 0 ? { customerId: account.stripeCustomerId, movements: sync.toMirror, createdNow } : null,
            verify: verify ? { customerId: account.stripeCustomerId, movements: books.movements.filter((m) => m.balanceTransactionId !== null) } : null,
            mark: sync.mark ? { ledgerEntryId: credit.ledgerEntryId, creditMovementKey: credit.key, knownBalanceTransactionId: credit.balanceTransactionId } : null,
          });
          creditMirror = synced.repaired[credit.key] ?? synced.mirrored[credit.key] ?? creditMirror;
        }
        return {
          kind: 'converged',
          facts,
          outcome: {
            status: 'credited',
            paymentIntentId: pi,
            accountId: account.accountId,
            ledgerEntryId: credit.ledgerEntryId,
            amountMinor: credit.amountMinor,
            currency: credit.currency,
            creditedAt: credit.createdAt,
            ledgerEntryCreated: createdNow.includes(credit.key),
            balanceTransactionId: sync.mirror === 'on' ? creditMirror : null,
            netMinor: netMinor(books.movements),
            movements: books.movements.length,
            mirror: sync.mirror,
          },
        };
      } catch (err) {
        if (err instanceof PaymentRejectedError) {
          const books = await loadPaymentBooks(pool, pi);
          return { kind: 'rejected', reason: books.decisions.rejected ?? err.message, facts };
        }
        if (err instanceof LedgerIdempotencyConflictError || err instanceof AccountOfRecordError) {
          throw failedAt(ApplicationFailure.nonRetryable(err.message, FAILURE_TYPES.ledgerConflict), { stage, facts, createdNow });
        }
        // A resolve refused because the payment was credited meanwhile: the next attempt finds the credit.
        if (err instanceof DecisionRefusedError) throw failedAt(ApplicationFailure.retryable(err.message, 'CreditedMeanwhile'), { stage, facts, createdNow });
        throw failedAt(err, { stage, facts, createdNow });
      }
    },
  };
}

export type PaymentActivities = ReturnType<typeof createPaymentActivities>;
