import type { AttentionReason, PaymentOutcome, PaymentState } from '../../domain/payment.js';
import { PAYMENT_INTENT_ID } from '../../domain/stripe-ids.js';
import {
  awaitSettlement,
  listStuckPayments,
  OperatorUpdateRefusedError,
  PaymentNotRunningError,
  PaymentUnresponsiveError,
  selectStuckPayments,
  sendOperatorUpdate,
  sendOperatorUpdates,
  STUCK_PAYMENTS_QUERY,
  type BulkUpdateResult,
  type OperatorAction,
  type StuckPayment,
} from '../../temporal/payment-operations.js';
import { OPERATOR_HINTS } from '../../../workflows/operator-actions.js';
import { millisecondsOption, noPositionals, onePositional, parseCommandArgs } from '../args.js';
import { cliConfig, withTemporal } from '../cli-env.js';
import { CliFailure, EXIT, UsageError, type ExitCode } from '../cli-errors.js';
import { subcommandOf, type CommandGroup } from '../command.js';
import { jsonText, tableText, type CliIo, type Column } from '../output.js';

const DEFAULT_SETTLE_WAIT_MS = 15_000;
const DEFAULT_BULK_CONCURRENCY = 10;
const MAX_BULK_CONCURRENCY = 50;
const ATTENTION_REASONS = Object.keys(OPERATOR_HINTS) as AttentionReason[];

/** `text` broken at spaces into lines of at most `width` characters, each indented by `indent` spaces. */
function wrapped(text: string, indent: number, width: number): string {
  const lines: string[] = [];
  for (const word of text.split(' ')) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last]!.length + 1 + word.length <= width) lines[last] += ` ${word}`;
    else lines.push(`${' '.repeat(indent)}${word}`);
  }
  return lines.join('\n');
}

const usage = `Usage:
  payconfirm payments stuck [--json] [--task-queue QUEUE]
  payconfirm payments retry pi_… [--wait MS] [--json]
  payconfirm payments retry --all (--dry-run | --yes) [--attention-reason REASON] [--since DATE] [--limit N]
                            [--concurrency N] [--task-queue QUEUE] [--wait MS] [--json]
  payconfirm payments resolve pi_… --account ACCOUNT_UUID [--note TEXT] [--wait MS] [--json]
  payconfirm payments reject pi_… --reason TEXT [--wait MS] [--json]
  payconfirm payments skip-mirror pi_… --reason TEXT [--wait MS] [--json]

stuck    lists payments waiting for an operator: the Temporal visibility query
           ${STUCK_PAYMENTS_QUERY} AND TaskQueue="QUEUE"
         (QUEUE defaults to TEMPORAL_TASK_QUEUE), with the reason read from each workflow's
         \`state\` query.
retry    runs the failed step again, once its cause is fixed.
resolve  credits the given account (for no_customer, no_account_for_customer, unknown_account).
reject   ends the payment without crediting (refused once the ledger is credited). Stored in
         Postgres: every later event, confirm or run after history retention finds it.
skip-mirror  when a Stripe mirror step cannot succeed (customer deleted, metadata full) after the
         ledger credit: leaves the Stripe customer balance alone for this payment from now on, so
         the payment and its later refunds go on in the ledger. Stored in Postgres with the reason.

retry --all  retries every payment \`stuck\` lists (on --task-queue QUEUE, default TEMPORAL_TASK_QUEUE) that its
         own \`state\` query confirms is waiting, narrowed by --attention-reason REASON, --since DATE (started
         waiting at or after DATE) and --limit N (the N oldest waits). REASON is one of
${wrapped(`${ATTENTION_REASONS.join(', ')}.`, 9, 110)}
         --dry-run lists them and changes nothing; --yes is required to retry
         (there is no prompt). Sends each the same \`retry\` update, --concurrency N at a time (default
         ${DEFAULT_BULK_CONCURRENCY}, at most ${MAX_BULK_CONCURRENCY}), waiting up to --wait MS for each to settle; progress goes to stderr, the
         result of each payment and a summary to stdout. A refusal (the payment no longer waits) is reported,
         not an error. reject and skip-mirror have no --all: each is a final decision about one payment's money.

The payment workflow refuses an update that does not apply (not in needs_attention, resolve for
another reason, reject after the ledger credit); the refusal is printed as is. After an accepted
update the command waits up to --wait MS (default ${DEFAULT_SETTLE_WAIT_MS}; 0: do not wait) for the payment to finish
or to stop in needs_attention again.

Environment: TEMPORAL_ADDRESS (required), TEMPORAL_NAMESPACE, TEMPORAL_TASK_QUEUE, TEMPORAL_API_KEY,
TEMPORAL_TLS_CERT_PATH / TEMPORAL_TLS_KEY_PATH.
Exit: 0 listed, or the update was applied and the payment finished (credited / rejected)
      · 2 applied, but the payment is still running or waits for an operator again
      · 3 the payment ended not_payable or not_eligible · 4 the workflow refused the update, or no such running payment
      · 1 usage, configuration or connection error.
retry --all: 0 dry run, or every selected payment was retried and finished (refusals included) · 1 a payment could
      not be retried or did not answer its state query · 2 some still run or wait again · 3 some ended not_payable.
`;

const STUCK_COLUMNS: Column<StuckPayment>[] = [
  { header: 'PAYMENT INTENT', value: (p) => p.paymentIntentId },
  { header: 'CUSTOMER', value: (p) => p.customerId },
  { header: 'ACCOUNT', value: (p) => p.accountId },
  { header: 'AMOUNT', value: (p) => (p.amountMinor === null ? null : `${p.amountMinor} ${p.currency ?? ''}`.trim()) },
  { header: 'REASON', value: (p) => p.reason ?? 'unknown' },
  { header: 'SINCE', value: (p) => p.since },
  { header: 'DETAIL', value: (p) => p.detail ?? p.stateError, maxWidth: 100 },
];

async function listStuck(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { json: { type: 'boolean' }, 'task-queue': { type: 'string' } });
  if (values.help) return io.stdout(usage), EXIT.ok;
  noPositionals(positionals);
  const config = cliConfig(io.env);
  const taskQueue = values['task-queue'] ?? config.temporal.taskQueue;
  const stuck = await withTemporal(config, ({ client }) => listStuckPayments(client, { taskQueue }));
  if (values.json) io.stdout(jsonText(stuck));
  else if (stuck.length === 0) io.stdout(`No stuck payments on task queue ${taskQueue}.\n`);
  else io.stdout(`${tableText(STUCK_COLUMNS, stuck)}\n${stuck.length} payment(s) wait for an operator on ${taskQueue}; --json shows the full detail and a hint for each.\n`);
  return EXIT.ok;
}

const EXIT_BY_OUTCOME: Record<PaymentOutcome['status'], ExitCode> = {
  credited: EXIT.ok,
  rejected: EXIT.ok,
  not_payable: EXIT.notPayable,
  not_eligible: EXIT.notPayable,
};

function describeState(paymentIntentId: string, state: PaymentState): string {
  const outcome = state.outcome;
  if (outcome?.status === 'credited') return `${paymentIntentId} credited: ${outcome.amountMinor} ${outcome.currency} to account ${outcome.accountId}, ledger entry ${outcome.ledgerEntryId}`;
  if (outcome?.status === 'rejected') return `${paymentIntentId} rejected: ${outcome.reason}`;
  if (outcome?.status === 'not_payable') return `${paymentIntentId} not_payable: the PaymentIntent is ${outcome.paymentIntentStatus}`;
  if (outcome?.status === 'not_eligible') return `${paymentIntentId} not_eligible: ${outcome.why}`;
  if (state.attention) return `${paymentIntentId} waits for an operator again: ${state.attention.reason} at ${state.attention.failedStage}: ${state.attention.detail}`;
  return `${paymentIntentId} is running (stage ${state.stage}); see \`payconfirm payments stuck\` or the Temporal UI`;
}

/** CLI sub-command → the workflow's update. */
const ACTION_OF = { retry: 'retry', resolve: 'resolve', reject: 'reject', 'skip-mirror': 'skipMirror' } as const;

/** Options of `retry --all` only. */
const BULK_OPTIONS = ['dry-run', 'yes', 'attention-reason', 'since', 'limit', 'concurrency', 'task-queue'] as const;

async function sendUpdate(sub: keyof typeof ACTION_OF, argv: string[], io: CliIo): Promise<number> {
  const kind = ACTION_OF[sub];
  const { values, positionals } = parseCommandArgs(argv, {
    json: { type: 'boolean' },
    wait: { type: 'string' },
    account: { type: 'string' },
    note: { type: 'string' },
    reason: { type: 'string' },
    all: { type: 'boolean' },
    'dry-run': { type: 'boolean' },
    yes: { type: 'boolean' },
    'attention-reason': { type: 'string' },
    since: { type: 'string' },
    limit: { type: 'string' },
    concurrency: { type: 'string' },
    'task-queue': { type: 'string' },
  });
  if (values.help) return io.stdout(usage), EXIT.ok;
  if (values.all) {
    if (kind !== 'retry') {
      throw new UsageError(`${sub} takes one payment at a time (no --all): it is a final decision about that payment's money; see \`payments stuck\``);
    }
    return retryAll(positionals, values, io);
  }
  for (const option of BULK_OPTIONS) if (values[option] !== undefined) throw new UsageError(`--${option} goes with --all`);
  const paymentIntentId = onePositional(positionals, 'PaymentIntent id (pi_…)', PAYMENT_INTENT_ID);
  const waitMs = millisecondsOption('wait', values.wait, DEFAULT_SETTLE_WAIT_MS);
  const action = actionFrom(kind, values);

  return withTemporal(cliConfig(io.env), async ({ client }) => {
    let accepted: PaymentState;
    try {
      accepted = await sendOperatorUpdate(client, paymentIntentId, action);
    } catch (err) {
      if (err instanceof OperatorUpdateRefusedError || err instanceof PaymentNotRunningError) {
        const json = values.json ? { error: { code: err instanceof OperatorUpdateRefusedError ? 'update_refused' : 'not_running', message: err.message } } : undefined;
        throw new CliFailure(`${sub} refused: ${err.message}`, EXIT.refused, json);
      }
      if (err instanceof PaymentUnresponsiveError) throw new CliFailure(err.message, EXIT.failure);
      throw err;
    }
    const { state } = waitMs > 0 ? await awaitSettlement(client, paymentIntentId, { timeoutMs: waitMs }) : { state: accepted };
    const exit = state.outcome ? EXIT_BY_OUTCOME[state.outcome.status] : EXIT.pending;
    io.stdout(values.json ? jsonText({ paymentIntentId, action: sub, accepted: true, state }) : `${sub} accepted. ${describeState(paymentIntentId, state)}\n`);
    return exit;
  });
}

type BulkResultName = PaymentOutcome['status'] | 'waiting_again' | 'running' | 'refused' | 'failed';
const BULK_RESULT_ORDER: BulkResultName[] = ['credited', 'rejected', 'not_payable', 'not_eligible', 'waiting_again', 'running', 'refused', 'failed'];

const bulkResultName = (r: BulkUpdateResult): BulkResultName =>
  r.result !== 'accepted' ? r.result : r.state.outcome ? r.state.outcome.status : r.state.stage === 'needs_attention' ? 'waiting_again' : 'running';

function bulkResultDetail(r: BulkUpdateResult): string {
  if (r.result !== 'accepted') return r.message;
  const { outcome, attention, stage } = r.state;
  if (outcome?.status === 'credited') return `${outcome.amountMinor} ${outcome.currency} to account ${outcome.accountId}, ledger entry ${outcome.ledgerEntryId}`;
  if (outcome?.status === 'rejected') return outcome.reason;
  if (outcome?.status === 'not_payable') return `the PaymentIntent is ${outcome.paymentIntentStatus}`;
  if (outcome?.status === 'not_eligible') return outcome.why;
  if (attention) return `${attention.reason} at ${attention.failedStage}: ${attention.detail}`;
  return `stage ${stage}`;
}

const countsText = (counts: Map<BulkResultName, number>): string =>
  BULK_RESULT_ORDER.filter((name) => counts.get(name)).map((name) => `${counts.get(name)} ${name.replace('_', ' ')}`).join(', ') || 'nothing';

const BULK_COLUMNS: Column<BulkUpdateResult>[] = [
  { header: 'PAYMENT INTENT', value: (r) => r.paymentIntentId },
  { header: 'RESULT', value: bulkResultName },
  { header: 'DETAIL', value: bulkResultDetail, maxWidth: 120 },
];

function wholeNumberOption(name: string, value: string | undefined, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value) || Number(value) < 1 || Number(value) > max) throw new UsageError(`--${name} takes a whole number from 1 to ${max}, got ${JSON.stringify(value)}`);
  return Number(value);
}

/**
 * `payments retry --all`: selects the stuck payments (visibility + each one's state query), then either lists them
 * (--dry-run) or sends each the `retry` update, a bounded number at a time, printing progress on stderr.
 */
async function retryAll(
  positionals: string[],
  values: { json?: boolean | undefined; wait?: string | undefined; account?: string | undefined; note?: string | undefined; reason?: string | undefined } & Partial<
    Record<(typeof BULK_OPTIONS)[number], string | boolean | undefined>
  >,
  io: CliIo,
): Promise<number> {
  if (positionals.length > 0) throw new UsageError(`--all takes no PaymentIntent id, got ${positionals.join(' ')}`);
  actionFrom('retry', values); // retry takes no --account, --note or --reason
  const dryRun = values['dry-run'] === true;
  if (dryRun && values.yes) throw new UsageError('give --dry-run or --yes, not both');
  if (!dryRun && !values.yes) throw new UsageError('retry --all changes every payment it selects: run it with --dry-run first, then with --yes');
  const attentionReason = values['attention-reason'] as string | undefined;
  if (attentionReason !== undefined && !ATTENTION_REASONS.includes(attentionReason as AttentionReason)) {
    throw new UsageError(`--attention-reason is one of ${ATTENTION_REASONS.join(', ')}; got ${JSON.stringify(attentionReason)}`);
  }
  const sinceText = values.since as string | undefined;
  const since = sinceText === undefined ? undefined : new Date(sinceText);
  if (since && Number.isNaN(since.getTime())) throw new UsageError(`--since wants an ISO date or date-time, got ${JSON.stringify(sinceText)}`);
  const limit = wholeNumberOption('limit', values.limit as string | undefined, 100_000);
  const concurrency = wholeNumberOption('concurrency', values.concurrency as string | undefined, MAX_BULK_CONCURRENCY) ?? DEFAULT_BULK_CONCURRENCY;
  const waitMs = millisecondsOption('wait', values.wait, DEFAULT_SETTLE_WAIT_MS);
  const config = cliConfig(io.env);
  const taskQueue = (values['task-queue'] as string | undefined) ?? config.temporal.taskQueue;
  const filters = {
    taskQueue,
    attentionReason: attentionReason ?? null,
    since: since?.toISOString() ?? null,
    limit: limit ?? null,
  };
  const filterText = [
    `on task queue ${taskQueue}`,
    attentionReason ? `waiting for ${attentionReason}` : '',
    since ? `waiting since ${since.toISOString()} or later` : '',
    limit ? `at most ${limit}` : '',
  ].filter(Boolean).join(', ');

  return withTemporal(config, async ({ client }) => {
    const { selected, unreadable, movedOn } = await selectStuckPayments(client, {
      taskQueue,
      ...(attentionReason ? { attentionReason: attentionReason as AttentionReason } : {}),
      ...(since ? { since } : {}),
      ...(limit ? { limit } : {}),
    });
    if (unreadable.length) {
      io.stderr(
        `retry --all: ${unreadable.length} payment(s) in needs_attention did not answer their state query, left out (is a worker running?): ${unreadable.map((p) => p.paymentIntentId).join(' ')}\n`,
      );
    }
    const unreadableJson = unreadable.map((p) => ({ paymentIntentId: p.paymentIntentId, error: p.stateError }));

    if (dryRun) {
      if (values.json) io.stdout(jsonText({ action: 'retry', dryRun: true, filters, selected: selected.length, payments: selected, unreadable: unreadableJson, movedOn: movedOn.map((p) => p.paymentIntentId) }));
      else if (selected.length === 0) io.stdout(`dry run: no stuck payments ${filterText}; nothing would be retried.\n`);
      else io.stdout(`${tableText(STUCK_COLUMNS, selected)}\ndry run: would retry ${selected.length} payment(s) ${filterText}; nothing was changed. Run it with --yes instead of --dry-run to retry them.\n`);
      return EXIT.ok;
    }

    const counts = new Map<BulkResultName, number>();
    io.stderr(`retry --all: ${selected.length} payment(s) ${filterText}, ${Math.min(concurrency, selected.length)} at a time\n`);
    const results = await sendOperatorUpdates(
      client,
      selected.map((p) => p.paymentIntentId),
      { kind: 'retry' },
      {
        concurrency,
        settleWaitMs: waitMs,
        onResult(result, done, total) {
          const name = bulkResultName(result);
          counts.set(name, (counts.get(name) ?? 0) + 1);
          if (name === 'refused' || name === 'failed') io.stderr(`retry --all: ${result.paymentIntentId} ${name}: ${bulkResultDetail(result)}\n`);
          if (done % concurrency === 0 || done === total) io.stderr(`retried ${done}/${total}: ${countsText(counts)}\n`);
        },
      },
    );

    const summary = Object.fromEntries(BULK_RESULT_ORDER.map((name) => [name, counts.get(name) ?? 0])) as Record<BulkResultName, number>;
    if (values.json) {
      io.stdout(
        jsonText({
          action: 'retry',
          dryRun: false,
          filters,
          selected: selected.length,
          summary,
          payments: results.map((r) => ({
            paymentIntentId: r.paymentIntentId,
            result: bulkResultName(r),
            stage: r.result === 'accepted' ? r.state.stage : null,
            attentionReason: r.result === 'accepted' ? (r.state.attention?.reason ?? null) : null,
            detail: bulkResultDetail(r),
          })),
          unreadable: unreadableJson,
        }),
      );
    } else if (results.length === 0) {
      io.stdout(`No stuck payments ${filterText}; nothing retried.\n`);
    } else {
      io.stdout(`${tableText(BULK_COLUMNS, results)}\nretry --all: ${results.length} payment(s): ${countsText(counts)}.\n`);
    }
    if (summary.failed > 0 || unreadable.length > 0) return EXIT.failure;
    if (summary.waiting_again + summary.running > 0) return EXIT.pending;
    if (summary.not_payable + summary.not_eligible > 0) return EXIT.notPayable;
    return EXIT.ok;
  });
}

function actionFrom(kind: OperatorAction['kind'], values: { account?: string | undefined; note?: string | undefined; reason?: string | undefined }): OperatorAction {
  const allowed: readonly string[] = { retry: [], resolve: ['account', 'note'], reject: ['reason'], skipMirror: ['reason'] }[kind];
  for (const option of ['account', 'note', 'reason'] as const) {
    if (values[option] !== undefined && !allowed.includes(option)) throw new UsageError(`--${option} does not apply to ${kind}`);
  }
  switch (kind) {
    case 'retry':
      return { kind };
    case 'resolve':
      if (!values.account) throw new UsageError('resolve needs --account <account uuid>: the account to credit');
      return { kind, input: { accountId: values.account, ...(values.note ? { note: values.note } : {}) } };
    case 'reject':
      if (!values.reason?.trim()) throw new UsageError('reject needs --reason TEXT');
      return { kind, input: { reason: values.reason } };
    case 'skipMirror':
      if (!values.reason?.trim()) throw new UsageError('skip-mirror needs --reason TEXT');
      return { kind, input: { reason: values.reason } };
  }
}

export const paymentsCommand: CommandGroup = {
  name: 'payments',
  synopsis: [
    'payments stuck [--json] [--task-queue QUEUE]            list payments waiting for an operator',
    'payments retry|resolve|reject|skip-mirror pi_… …        operator updates (see payments --help)',
    'payments retry --all (--dry-run | --yes) […]            retry every stuck payment (filters: see payments --help)',
  ],
  usage,
  async run(argv, io) {
    const parsed = subcommandOf(argv);
    if (!parsed) return io.stdout(usage), EXIT.ok;
    switch (parsed.sub) {
      case 'stuck':
        return listStuck(parsed.rest, io);
      case 'retry':
      case 'resolve':
      case 'reject':
      case 'skip-mirror':
        return sendUpdate(parsed.sub, parsed.rest, io);
      default:
        throw new UsageError(`unknown command: payments ${parsed.sub}`);
    }
  },
};
