import { findInboxEvent, listInboxEvents, type InboxRow, type InboxStatus } from '../../db/webhook-inbox.js';
import { EVENT_ID } from '../../domain/stripe-ids.js';
import { noPositionals, onePositional, parseCommandArgs } from '../args.js';
import { cliConfig, withPool } from '../cli-env.js';
import { CliFailure, EXIT, UsageError } from '../cli-errors.js';
import { subcommandOf, type CommandGroup } from '../command.js';
import { jsonText, tableText, type CliIo, type Column } from '../output.js';

const STATUSES: readonly InboxStatus[] = ['received', 'dispatched', 'processed', 'ignored', 'failed'];

const usage = `Usage:
  payconfirm events list [--status STATUS] [--type TYPE] [--since DATE] [--limit N] [--json]
  payconfirm events show evt_… [--json]

The Stripe webhook inbox (table stripe_webhook_events), newest first: what arrived, what became of it.
  --status  ${STATUSES.join(' | ')}
  --type    an event type, or a prefix ending in * (e.g. charge.dispute.*)
  --since   ISO date or date-time (received at or after)
  --limit   at most N rows (default 50, at most 1000)

show prints one event: its type and PaymentIntent, status and outcome, attempts and last error, and where to see
its workflow (workflow id = the event id: \`temporal workflow show --workflow-id evt_…\`, or the Temporal UI).

Environment: DATABASE_URL (required), DATABASE_SCHEMA.
Exit: 0 listed / shown · 4 no such event · 1 usage, configuration or database error.
`;

const COLUMNS: Column<InboxRow>[] = [
  { header: 'EVENT', value: (r) => r.eventId },
  { header: 'TYPE', value: (r) => r.eventType },
  { header: 'PAYMENT INTENT', value: (r) => r.paymentIntentId },
  { header: 'STATUS', value: (r) => r.status },
  { header: 'RECEIVED', value: (r) => r.receivedAt.toISOString() },
  { header: 'OUTCOME', value: (r) => r.lastError ?? r.outcome, maxWidth: 80 },
];

async function list(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    status: { type: 'string' },
    type: { type: 'string' },
    since: { type: 'string' },
    limit: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) return io.stdout(usage), EXIT.ok;
  noPositionals(positionals);
  if (values.status !== undefined && !STATUSES.includes(values.status as InboxStatus)) throw new UsageError(`--status is one of ${STATUSES.join(', ')}`);
  if (values.type !== undefined && !/^[a-z][a-z0-9_.]*\*?$/.test(values.type)) throw new UsageError('--type is an event type, or a prefix ending in *');
  const since = values.since === undefined ? undefined : new Date(values.since);
  if (since && Number.isNaN(since.getTime())) throw new UsageError('--since wants an ISO date or date-time');
  if (values.limit !== undefined && !/^([1-9]\d{0,2}|1000)$/.test(values.limit)) throw new UsageError('--limit is a whole number from 1 to 1000');
  const rows = await withPool(cliConfig(io.env), (pool) =>
    listInboxEvents(pool, {
      limit: Number(values.limit ?? 50),
      ...(values.status ? { status: values.status as InboxStatus } : {}),
      ...(values.type ? { type: values.type } : {}),
      ...(since ? { since } : {}),
    }),
  );
  if (values.json) io.stdout(jsonText(rows));
  else io.stdout(rows.length ? `${tableText(COLUMNS, rows)}\n${rows.length} event(s).\n` : 'No events match.\n');
  return EXIT.ok;
}

async function show(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { json: { type: 'boolean' } });
  if (values.help) return io.stdout(usage), EXIT.ok;
  const eventId = onePositional(positionals, 'Stripe event id (evt_…)', EVENT_ID);
  const row = await withPool(cliConfig(io.env), (pool) => findInboxEvent(pool, eventId));
  if (!row) throw new CliFailure(`no event ${eventId} in the inbox (never received, or pruned after its retention)`, EXIT.refused);
  if (values.json) return io.stdout(jsonText(row)), EXIT.ok;
  io.stdout(
    [
      `${row.eventId}  ${row.eventType}${row.paymentIntentId ? `  PaymentIntent ${row.paymentIntentId}` : ''}`,
      `status     ${row.status}${row.outcome ? ` — ${row.outcome}` : ''}`,
      `received   ${row.receivedAt.toISOString()}; dispatched ${row.dispatchedAt?.toISOString() ?? '—'}; finished ${row.processedAt?.toISOString() ?? '—'}`,
      `attempts   ${row.attempts}${row.lastError ? `; last error: ${row.lastError}` : ''}`,
      `workflow   ${row.eventId} (temporal workflow show --workflow-id ${row.eventId})`,
      '',
    ].join('\n'),
  );
  return EXIT.ok;
}

export const eventsCommand: CommandGroup = {
  name: 'events',
  synopsis: ['events list|show …                                       the Stripe webhook inbox: what arrived, what became of it'],
  usage,
  async run(argv, io) {
    const parsed = subcommandOf(argv);
    if (!parsed) return io.stdout(usage), EXIT.ok;
    if (parsed.sub === 'list') return list(parsed.rest, io);
    if (parsed.sub === 'show') return show(parsed.rest, io);
    throw new UsageError(`unknown command: events ${parsed.sub}`);
  },
};
