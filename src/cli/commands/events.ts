import { findInboxEvent, INBOX_STATUSES, listInboxEvents, type InboxRow, type InboxStatus } from '../../db/webhook-inbox.js';
import { EVENT_ID } from '../../domain/stripe-ids.js';
import { listSelection, noPositionals, onePositional, parseCommandArgs } from '../args.js';
import { replayStripeEvent, type ReplayOutcome } from '../../webhooks/stripe-event-replay.js';
import { cliConfig, withPool, withTemporal } from '../cli-env.js';
import { CliFailure, EXIT, UsageError } from '../cli-errors.js';
import { backfill, BACKFILL_HELP, BACKFILL_USAGE_LINE } from './events-backfill.js';
import { subcommandOf, type CommandGroup } from '../command.js';
import { jsonText, tableText, type CliIo, type Column } from '../output.js';

const STATUSES = INBOX_STATUSES;
/** What a bulk replay may select: the rows that need an operator. */
const REPLAYABLE: readonly InboxStatus[] = ['failed', 'dead'];

const usage = `Usage:
  payconfirm events list [--status STATUS] [--type TYPE] [--since DATE] [--limit N] [--json]
  payconfirm events show evt_… [--json]
  payconfirm events replay evt_… [--json]
  payconfirm events replay --status failed|dead [--type TYPE] [--since DATE] [--limit N] [--dry-run] [--json]
${BACKFILL_USAGE_LINE}

The Stripe webhook inbox (table stripe_webhook_events), newest first: what arrived, what became of it.
  --status  ${STATUSES.join(' | ')}
  --type    an event type, or a prefix ending in * (e.g. charge.dispute.*)
  --since   ISO date or date-time (received at or after)
  --limit   at most N rows (default 50, at most 1000)

show prints one event: its type and PaymentIntent, status and outcome, attempts and last error, and where to see
its workflow (workflow id = the event id: \`temporal workflow show --workflow-id evt_…\`, or the Temporal UI).

replay starts a new run of the event workflow evt_… for one event (any status but received), or for every event
of a status (failed: its forward to the payment failed; dead: the relay gave up starting it) — each forwarded
again to its payment, which re-reads Stripe and applies only what the ledger lacks: never twice. --dry-run lists
what would be replayed. One line per event, then a summary.

${BACKFILL_HELP}
Environment: DATABASE_URL (required), DATABASE_SCHEMA; replay also TEMPORAL_ADDRESS, TEMPORAL_TASK_QUEUE.
Exit: 0 listed / shown / replayed · 4 no such event, or a replay skipped or failed · 1 usage, configuration or database error.
`;

const COLUMNS: Column<InboxRow>[] = [
  { header: 'EVENT', value: (r) => r.eventId },
  { header: 'TYPE', value: (r) => r.eventType },
  { header: 'PAYMENT INTENT', value: (r) => r.paymentIntentId },
  { header: 'STATUS', value: (r) => r.status },
  { header: 'RECEIVED', value: (r) => r.receivedAt.toISOString() },
  { header: 'OUTCOME', value: (r) => r.lastError ?? r.outcome, maxWidth: 80 },
];

const listFilter = (values: { type?: string | undefined; since?: string | undefined; limit: string }) => listSelection(values, 'an event type');

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
  const filter = listFilter({ ...values, limit: values.limit ?? '50' });
  const rows = await withPool(cliConfig(io.env), (pool) =>
    listInboxEvents(pool, { ...filter, ...(values.status ? { status: values.status as InboxStatus } : {}) }),
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
      `attempts   ${row.attempts}${row.refusedStarts ? ` (${row.refusedStarts} refused by Temporal)` : ''}${row.nextAttemptAt ? `, next ${row.nextAttemptAt.toISOString()}` : ''}${row.lastError ? `; last error: ${row.lastError}` : ''}`,
      ...(row.replayCount > 0 ? [`replayed   ${row.replayCount} time(s), last ${row.replayedAt?.toISOString() ?? '—'}`] : []),
      `workflow   ${row.eventId} (temporal workflow show --workflow-id ${row.eventId})`,
      '',
    ].join('\n'),
  );
  return EXIT.ok;
}

const replayLine = (o: ReplayOutcome): string => `${o.result.padEnd(8)} ${o.eventId}${'why' in o ? `  ${o.why}` : ''}`;

async function replay(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    status: { type: 'string' },
    type: { type: 'string' },
    since: { type: 'string' },
    limit: { type: 'string' },
    'dry-run': { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (values.help) return io.stdout(usage), EXIT.ok;
  const bulk = values.status !== undefined;
  if (bulk === positionals.length > 0) throw new UsageError('replay takes one event id (evt_…) or --status failed|dead, not both');
  if (bulk && !REPLAYABLE.includes(values.status as InboxStatus)) throw new UsageError(`--status is one of ${REPLAYABLE.join(', ')}`);
  if (!bulk && (values.type ?? values.since ?? values.limit) !== undefined) throw new UsageError('--type, --since and --limit select events for --status');
  const filter = bulk ? listFilter({ ...values, limit: values.limit ?? '100' }) : null;
  const config = cliConfig(io.env);
  return withPool(config, async (pool) => {
    const eventIds = filter
      ? (await listInboxEvents(pool, { ...filter, status: values.status as InboxStatus })).map((r) => r.eventId).reverse()
      : [onePositional(positionals, 'Stripe event id (evt_…)', EVENT_ID)];
    if (values['dry-run']) {
      if (values.json) io.stdout(jsonText({ dryRun: true, eventIds }));
      else io.stdout(`${eventIds.map((id) => `would replay ${id}`).join('\n')}${eventIds.length ? '\n' : ''}${eventIds.length} event(s) would be replayed (dry run: nothing changed).\n`);
      return EXIT.ok;
    }
    const outcomes = await withTemporal(config, async ({ client, taskQueue }) => {
      const done: ReplayOutcome[] = [];
      for (const eventId of eventIds) {
        const outcome = await replayStripeEvent({ pool, events: { client, taskQueue } }, eventId);
        done.push(outcome);
        if (!values.json) io.stdout(`${replayLine(outcome)}   (${done.length}/${eventIds.length})\n`);
      }
      return done;
    });
    const count = (r: ReplayOutcome['result']) => outcomes.filter((o) => o.result === r).length;
    const summary = { replayed: count('replayed'), running: count('running'), skipped: count('skipped'), failed: count('failed') };
    if (values.json) io.stdout(jsonText({ ...summary, outcomes }));
    else io.stdout(`${summary.replayed} replayed, ${summary.running} still running, ${summary.skipped} skipped, ${summary.failed} failed.\n`);
    return summary.failed > 0 || (summary.skipped > 0 && !bulk) ? EXIT.refused : EXIT.ok;
  });
}

export const eventsCommand: CommandGroup = {
  name: 'events',
  synopsis: ['events list|show|replay …                                the Stripe webhook inbox: what arrived, what became of it, replay', 'events backfill --since DATE|AGE [--json]               list Stripe\'s events into the inbox: what webhooks missed'],
  usage,
  async run(argv, io) {
    const parsed = subcommandOf(argv);
    if (!parsed) return io.stdout(usage), EXIT.ok;
    if (parsed.sub === 'list') return list(parsed.rest, io);
    if (parsed.sub === 'show') return show(parsed.rest, io);
    if (parsed.sub === 'replay') return replay(parsed.rest, io);
    if (parsed.sub === 'backfill') return backfill(parsed.rest, io, usage);
    throw new UsageError(`unknown command: events ${parsed.sub}`);
  },
};
