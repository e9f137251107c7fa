import { WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError, type Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { AttentionReason, PaymentOutcome, PaymentState, RejectInput, ResolveInput, SkipMirrorInput } from '../domain/payment.js';
import { inLanes } from '../runtime/in-lanes.js';
import { OPERATOR_HINTS } from '../../workflows/operator-actions.js';
import { paymentStateQuery, rejectUpdate, resolveUpdate, retryUpdate, skipMirrorUpdate } from '../../workflows/payment-messages.js';
import type { paymentWorkflow } from '../../workflows/payment-workflow.js';
import { AccountIdKey, AmountMinorKey, StripeCustomerIdKey } from './search-attributes.js';

/**
 * What operators do with stuck payments, for the CLI, tests and anything else: find every payment waiting
 * in needs_attention (Temporal visibility + the workflow's `state` query) and send it `retry`, `resolve`
 * or `reject` (Workflow Updates, refused by the workflow's validators when they do not apply).
 */

/** The visibility query behind `payconfirm payments stuck`; the same text works as a saved view in the Temporal UI. */
export const STUCK_PAYMENTS_QUERY = 'ExecutionStatus="Running" AND PaymentStage="needs_attention"';

export function stuckPaymentsQuery(taskQueue?: string): string {
  if (taskQueue === undefined) return STUCK_PAYMENTS_QUERY;
  if (!/^[A-Za-z0-9_.:\/-]+$/.test(taskQueue)) throw new RangeError(`task queue name ${JSON.stringify(taskQueue)} has characters a visibility query cannot hold`);
  return `${STUCK_PAYMENTS_QUERY} AND TaskQueue="${taskQueue}"`;
}

export interface StuckPayment {
  paymentIntentId: string;
  runId: string;
  taskQueue: string;
  customerId: string | null;
  accountId: string | null;
  amountMinor: number | null;
  currency: string | null;
  /** null when the workflow could not answer its `state` query (see `stateError`). */
  reason: AttentionReason | null;
  detail: string | null;
  failedStage: string | null;
  /** ISO-8601: when it started waiting. */
  since: string | null;
  hint: string | null;
  stateError: string | null;
}

export interface OperationOptions {
  /** Deadline of the whole operation. Default 15 s. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 15_000;
const deadline = (opts: OperationOptions) => Date.now() + (opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
const handleOf = (client: Client, paymentIntentId: string) => client.workflow.getHandle<typeof paymentWorkflow>(paymentIntentId);

/** State queries `listStuckPayments` has in flight at once. */
const STATE_QUERY_LANES = 16;

/** How `stateError` begins when the workflow did not answer its `state` query (its reason is unknown). */
const STATE_QUERY_FAILED = 'state query failed';

/** Every payment waiting for an operator (on one task queue if given), oldest wait first. */
export async function listStuckPayments(client: Client, opts: OperationOptions & { taskQueue?: string } = {}): Promise<StuckPayment[]> {
  const query = stuckPaymentsQuery(opts.taskQueue);
  const found = await client.connection.withDeadline(deadline(opts), async () => {
    const executions = [];
    for await (const execution of client.workflow.list({ query })) executions.push(execution);
    return executions;
  });
  // A query each, STATE_QUERY_LANES at a time: thousands of stuck payments are not thousands of queries at once
  // (each may make a worker replay the run's history).
  const stuck = await inLanes(found, STATE_QUERY_LANES, async (execution): Promise<StuckPayment> => {
    const attrs = execution.typedSearchAttributes;
    const fallback = {
      paymentIntentId: execution.workflowId,
      runId: execution.runId,
      taskQueue: execution.taskQueue,
      customerId: attrs.get(StripeCustomerIdKey) ?? null,
      accountId: attrs.get(AccountIdKey) ?? null,
      amountMinor: attrs.get(AmountMinorKey) ?? null,
    };
    try {
      const state = await client.connection.withDeadline(deadline(opts), () =>
        client.workflow.getHandle(execution.workflowId, execution.runId).query(paymentStateQuery),
      );
      const attention = state.attention;
      return {
        ...fallback,
        customerId: state.customerId ?? fallback.customerId,
        accountId: state.accountId ?? fallback.accountId,
        amountMinor: state.amountMinor ?? fallback.amountMinor,
        currency: state.currency,
        reason: attention?.reason ?? null,
        detail: attention?.detail ?? null,
        failedStage: attention?.failedStage ?? null,
        since: attention?.since ?? null,
        hint: attention ? OPERATOR_HINTS[attention.reason] : null,
        stateError: attention ? null : `the workflow is at stage ${state.stage} now`,
      };
    } catch (err) {
      return {
        ...fallback,
        currency: null,
        reason: null,
        detail: null,
        failedStage: null,
        since: null,
        hint: null,
        stateError: `${STATE_QUERY_FAILED} (is a payconfirm worker running on ${execution.taskQueue}?): ${(err as Error).message}`,
      };
    }
  });
  return stuck.sort((a, b) => (a.since ?? '').localeCompare(b.since ?? ''));
}

/** The payment workflow's current state (its `state` query). */
export function queryPaymentState(client: Client, paymentIntentId: string, opts: OperationOptions = {}): Promise<PaymentState> {
  return client.connection.withDeadline(deadline(opts), () => handleOf(client, paymentIntentId).query(paymentStateQuery));
}

export type OperatorAction =
  | { kind: 'retry' }
  | { kind: 'resolve'; input: ResolveInput }
  | { kind: 'reject'; input: RejectInput }
  | { kind: 'skipMirror'; input: SkipMirrorInput };

/** The workflow refused the update (its validator): the payment is not waiting, or the action does not apply. */
export class OperatorUpdateRefusedError extends Error {
  override readonly name = 'OperatorUpdateRefusedError';
  constructor(message: string, readonly failureType: string | null) {
    super(message);
  }
}

/** No running payment workflow has this id: unknown, or already finished. */
export class PaymentNotRunningError extends Error {
  override readonly name = 'PaymentNotRunningError';
}

/** The workflow did not answer in time: usually no worker polls its task queue. */
export class PaymentUnresponsiveError extends Error {
  override readonly name = 'PaymentUnresponsiveError';
}

/**
 * Sends an operator update and returns the payment's state once the workflow has taken it up (left
 * needs_attention: running the step again, or rejected).
 */
export async function sendOperatorUpdate(
  client: Client,
  paymentIntentId: string,
  action: OperatorAction,
  opts: OperationOptions = {},
): Promise<PaymentState> {
  const handle = handleOf(client, paymentIntentId);
  try {
    return await client.connection.withDeadline(deadline(opts), () => {
      switch (action.kind) {
        case 'retry':
          return handle.executeUpdate(retryUpdate);
        case 'resolve':
          return handle.executeUpdate(resolveUpdate, { args: [action.input] });
        case 'reject':
          return handle.executeUpdate(rejectUpdate, { args: [action.input] });
        case 'skipMirror':
          return handle.executeUpdate(skipMirrorUpdate, { args: [action.input] });
      }
    });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      const cause = err.cause as (Error & { type?: string | null }) | undefined;
      throw new OperatorUpdateRefusedError(cause?.message ?? err.message, cause?.type ?? null);
    }
    if (err instanceof WorkflowNotFoundError) throw new PaymentNotRunningError(await notRunningMessage(client, paymentIntentId));
    if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
      throw new PaymentUnresponsiveError(
        `payment ${paymentIntentId} did not answer the ${action.kind} update within ${(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS) / 1000} s: is a payconfirm worker running on its task queue?`,
      );
    }
    throw err;
  }
}

async function notRunningMessage(client: Client, paymentIntentId: string): Promise<string> {
  try {
    const description = await client.connection.withDeadline(Date.now() + 5_000, () => handleOf(client, paymentIntentId).describe());
    return `payment ${paymentIntentId} is not running (its workflow is ${description.status.name}): nothing waits for an operator`;
  } catch {
    return `no payment workflow ${paymentIntentId} exists in this namespace`;
  }
}

export interface Settlement {
  /** The outcome once the workflow finished within the wait, else null. */
  outcome: PaymentOutcome | null;
  /** The latest state seen: the outcome's, or where the payment stands (possibly needs_attention again). */
  state: PaymentState;
}

/**
 * After an accepted update: waits up to `timeoutMs` until the payment finishes or stops in needs_attention
 * again, polling its `state` query.
 */
export async function awaitSettlement(
  client: Client,
  paymentIntentId: string,
  opts: { timeoutMs: number; pollMs?: number },
): Promise<Settlement> {
  const until = Date.now() + opts.timeoutMs;
  for (;;) {
    const state = await queryPaymentState(client, paymentIntentId);
    if (state.outcome || state.stage === 'needs_attention' || Date.now() >= until) return { outcome: state.outcome, state };
    await new Promise((resolve) => setTimeout(resolve, Math.min(opts.pollMs ?? 250, Math.max(until - Date.now(), 0))));
  }
}

/** Which stuck payments a bulk operator action (`payconfirm payments retry --all`) takes. */
export interface StuckSelection {
  /** Only this task queue's payments (the CLI always gives one). */
  taskQueue?: string;
  /** Only payments waiting for this reason (read from each workflow's `state` query: it is no search attribute). */
  attentionReason?: AttentionReason;
  /** Only payments that started waiting at or after this instant. */
  since?: Date;
  /** At most this many, oldest wait first. */
  limit?: number;
}

export interface SelectedStuckPayments {
  /** Waiting in needs_attention by their own `state` query and matching the selection, oldest wait first. */
  selected: StuckPayment[];
  /** Listed by visibility, but their workflow did not answer the `state` query: what they wait for is unknown. */
  unreadable: StuckPayment[];
  /** Listed by visibility, but no longer waiting by their `state` query (visibility lags behind the workflow). */
  movedOn: StuckPayment[];
}

/**
 * The stuck payments a bulk action applies to: the visibility query of `payments stuck`, narrowed by what each
 * workflow's `state` query says (the reason and since of its wait), so a payment visibility still shows as
 * needs_attention after it moved on is left out.
 */
export async function selectStuckPayments(client: Client, selection: StuckSelection & OperationOptions = {}): Promise<SelectedStuckPayments> {
  const listed = await listStuckPayments(client, {
    ...(selection.taskQueue !== undefined ? { taskQueue: selection.taskQueue } : {}),
    ...(selection.timeoutMs !== undefined ? { timeoutMs: selection.timeoutMs } : {}),
  });
  const unreadable = listed.filter((p) => p.reason === null && p.stateError?.startsWith(STATE_QUERY_FAILED));
  const movedOn = listed.filter((p) => p.reason === null && !p.stateError?.startsWith(STATE_QUERY_FAILED));
  const sinceIso = selection.since?.toISOString();
  const matching = listed.filter(
    (p) =>
      p.reason !== null &&
      (selection.attentionReason === undefined || p.reason === selection.attentionReason) &&
      (sinceIso === undefined || (p.since !== null && p.since >= sinceIso)),
  );
  return { selected: matching.slice(0, selection.limit ?? matching.length), unreadable, movedOn };
}

/** What became of one payment of a bulk operator action. */
export type BulkUpdateResult =
  /** The workflow took the update; `state` is the latest seen (settled, waiting again, or still running). */
  | { paymentIntentId: string; result: 'accepted'; state: PaymentState }
  /** The workflow's validator said no (e.g. it no longer waits), or it is not running: reported, not an error. */
  | { paymentIntentId: string; result: 'refused'; message: string; failureType: string | null }
  /** The update could not be delivered (no worker answered, connection lost, …). */
  | { paymentIntentId: string; result: 'failed'; message: string };

export interface BulkUpdateOptions {
  /** Payments handled at once (update, then its settlement wait). */
  concurrency: number;
  /** After an accepted update, wait up to this long for the payment to finish or wait again (0: do not wait). */
  settleWaitMs: number;
  /** Deadline of each update. Default 15 s. */
  updateTimeoutMs?: number;
  /** Called as each payment is done, in completion order. */
  onResult?: (result: BulkUpdateResult, done: number, total: number) => void;
}

/**
 * Sends the same operator update to each payment, `concurrency` at a time (Temporal's batch operations carry
 * signals, not updates: only an update is validated by the workflow and answers per payment). A refusal or a
 * failure of one payment never stops the others. Results in the order of `paymentIntentIds`.
 */
export async function sendOperatorUpdates(
  client: Client,
  paymentIntentIds: readonly string[],
  action: OperatorAction,
  opts: BulkUpdateOptions,
): Promise<BulkUpdateResult[]> {
  const one = async (paymentIntentId: string): Promise<BulkUpdateResult> => {
    let accepted: PaymentState;
    try {
      accepted = await sendOperatorUpdate(client, paymentIntentId, action, opts.updateTimeoutMs !== undefined ? { timeoutMs: opts.updateTimeoutMs } : {});
    } catch (err) {
      if (err instanceof OperatorUpdateRefusedError) return { paymentIntentId, result: 'refused', message: err.message, failureType: err.failureType };
      if (err instanceof PaymentNotRunningError) return { paymentIntentId, result: 'refused', message: err.message, failureType: 'NotRunning' };
      return { paymentIntentId, result: 'failed', message: (err as Error)?.message ?? String(err) };
    }
    if (opts.settleWaitMs <= 0) return { paymentIntentId, result: 'accepted', state: accepted };
    try {
      return { paymentIntentId, result: 'accepted', state: (await awaitSettlement(client, paymentIntentId, { timeoutMs: opts.settleWaitMs })).state };
    } catch {
      // Applied; only the wait for its settlement failed: report where the update left it (still running).
      return { paymentIntentId, result: 'accepted', state: accepted };
    }
  };
  return inLanes(paymentIntentIds, opts.concurrency, one, opts.onResult);
}
