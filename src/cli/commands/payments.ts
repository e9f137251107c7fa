import type { PaymentOutcome, PaymentState } from '../../domain/payment.js';
import { PAYMENT_INTENT_ID } from '../../domain/stripe-ids.js';
import {
  awaitSettlement,
  listStuckPayments,
  OperatorUpdateRefusedError,
  PaymentNotRunningError,
  PaymentUnresponsiveError,
  sendOperatorUpdate,
  STUCK_PAYMENTS_QUERY,
  type OperatorAction,
  type StuckPayment,
} from '../../temporal/payment-operations.js';
import { millisecondsOption, noPositionals, onePositional, parseCommandArgs } from '../args.js';
import { cliConfig, withTemporal } from '../cli-env.js';
import { CliFailure, EXIT, UsageError, type ExitCode } from '../cli-errors.js';
import { subcommandOf, type CommandGroup } from '../command.js';
import { jsonText, tableText, type CliIo, type Column } from '../output.js';

const DEFAULT_SETTLE_WAIT_MS = 15_000;

const usage = `Usage:
  payconfirm payments stuck [--json] [--task-queue QUEUE]
  payconfirm payments retry pi_… [--wait MS] [--json]
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

async function sendUpdate(sub: keyof typeof ACTION_OF, argv: string[], io: CliIo): Promise<number> {
  const kind = ACTION_OF[sub];
  const { values, positionals } = parseCommandArgs(argv, {
    json: { type: 'boolean' },
    wait: { type: 'string' },
    account: { type: 'string' },
    note: { type: 'string' },
    reason: { type: 'string' },
  });
  if (values.help) return io.stdout(usage), EXIT.ok;
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
