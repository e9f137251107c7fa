import {
  findNotification,
  listNotifications,
  NOTIFICATION_ID,
  NOTIFICATION_STATUSES,
  replayNotification,
  type NotificationStatus,
  type OutgoingNotification,
} from '../../notifications/outbox.js';
import { listSelection, noPositionals, onePositional, parseCommandArgs } from '../args.js';
import { cliConfig, withPool } from '../cli-env.js';
import { CliFailure, EXIT, UsageError } from '../cli-errors.js';
import { subcommandOf, type CommandGroup } from '../command.js';
import { snakeKeys, tableText, type CliIo, type Column } from '../output.js';

const usage = `Usage:
  payconfirm notifications list [--status STATUS] [--type TYPE] [--since DATE] [--limit N] [--json]
  payconfirm notifications show ID [--json]
  payconfirm notifications replay ID [--json]
  payconfirm notifications replay --status dead [--type TYPE] [--since DATE] [--limit N] [--dry-run] [--json]

The outbox of outgoing notifications (table outgoing_notifications), newest first: one per ledger movement (type
ledger.movement.created, ID = the movement's idempotency key = the webhook-id the endpoint receives).
  --status  ${NOTIFICATION_STATUSES.join(' | ')}
  --type    a notification type, or a prefix ending in * (e.g. ledger.*)
  --since   ISO date or date-time (created at or after)
  --limit   at most N rows (default 50, at most 1000)

show prints one notification: its status, attempts, last answer or error, and the body it sends.

replay makes a dead notification (or a delivered one, to send it again) pending, due now, with a fresh budget of
NOTIFICATION_MAX_ATTEMPTS; the workers' deliverer sends it within a second or so, under the same webhook-id, so a
receiver that already had it drops the copy. --status dead replays every dead one; --dry-run lists them only.

Environment: DATABASE_URL (required), DATABASE_SCHEMA.
Exit: 0 listed / shown / replayed · 4 no such notification, or one not replayed · 1 usage, configuration or database error.
`;

/** JSON as the rest of the CLI prints it (snake_case keys), the payload exactly as sent. */
const jsonText = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
const asJson = ({ payload, ...n }: OutgoingNotification) => ({ ...(snakeKeys(n) as object), payload });

const COLUMNS: Column<OutgoingNotification>[] = [
  { header: 'ID', value: (n) => n.id, maxWidth: 70 },
  { header: 'TYPE', value: (n) => n.type },
  { header: 'STATUS', value: (n) => n.status },
  { header: 'ATTEMPTS', value: (n) => n.attempts },
  { header: 'CREATED', value: (n) => n.createdAt.toISOString() },
  { header: 'LAST', value: (n) => n.lastError ?? (n.lastStatusCode === null ? null : `HTTP ${n.lastStatusCode}`), maxWidth: 60 },
];

const listFilter = (values: { type?: string | undefined; since?: string | undefined; limit: string }) => listSelection(values, 'a notification type');

const SELECT_OPTIONS = {
  status: { type: 'string' },
  type: { type: 'string' },
  since: { type: 'string' },
  limit: { type: 'string' },
  json: { type: 'boolean' },
} as const;

async function list(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, SELECT_OPTIONS);
  if (values.help) return io.stdout(usage), EXIT.ok;
  noPositionals(positionals);
  if (values.status !== undefined && !NOTIFICATION_STATUSES.includes(values.status as NotificationStatus)) {
    throw new UsageError(`--status is one of ${NOTIFICATION_STATUSES.join(', ')}`);
  }
  const filter = listFilter({ ...values, limit: values.limit ?? '50' });
  const rows = await withPool(cliConfig(io.env), (pool) =>
    listNotifications(pool, { ...filter, ...(values.status ? { status: values.status as NotificationStatus } : {}) }),
  );
  if (values.json) io.stdout(jsonText(rows.map(asJson)));
  else io.stdout(rows.length ? `${tableText(COLUMNS, rows)}${rows.length} notification(s).\n` : 'No notifications match.\n');
  return EXIT.ok;
}

async function show(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { json: { type: 'boolean' } });
  if (values.help) return io.stdout(usage), EXIT.ok;
  const id = onePositional(positionals, 'notification id (its webhook-id)', NOTIFICATION_ID);
  const n = await withPool(cliConfig(io.env), (pool) => findNotification(pool, id));
  if (!n) throw new CliFailure(`no notification ${id}`, EXIT.refused);
  if (values.json) return io.stdout(jsonText(asJson(n))), EXIT.ok;
  const next = n.status === 'pending' ? `, next ${n.nextAttemptAt.toISOString()}` : '';
  io.stdout(
    [
      `${n.id}  ${n.type}`,
      `status     ${n.status}${n.deliveredAt ? ` at ${n.deliveredAt.toISOString()}` : ''}${n.deadAt ? ` at ${n.deadAt.toISOString()}` : ''}`,
      `created    ${n.createdAt.toISOString()}`,
      `attempts   ${n.attempts}${next}${n.lastAttemptAt ? `; last ${n.lastAttemptAt.toISOString()}` : ''}${n.lastStatusCode !== null ? ` HTTP ${n.lastStatusCode}` : ''}${n.lastError ? `; last error: ${n.lastError}` : ''}`,
      ...(n.replayCount > 0 ? [`replayed   ${n.replayCount} time(s), last ${n.replayedAt?.toISOString() ?? '—'}`] : []),
      `body       ${JSON.stringify(n.payload)}`,
      '',
    ].join('\n'),
  );
  return EXIT.ok;
}

type ReplayOutcome = { id: string; result: 'replayed'; was: NotificationStatus } | { id: string; result: 'skipped'; why: string };

async function replay(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { ...SELECT_OPTIONS, 'dry-run': { type: 'boolean' } });
  if (values.help) return io.stdout(usage), EXIT.ok;
  const bulk = values.status !== undefined;
  if (bulk === positionals.length > 0) throw new UsageError('replay takes one notification id or --status dead, not both');
  if (bulk && values.status !== 'dead') throw new UsageError('--status is dead (replay one delivered notification by its id)');
  if (!bulk && (values.type ?? values.since ?? values.limit) !== undefined) throw new UsageError('--type, --since and --limit select notifications for --status');
  if (!bulk && values['dry-run']) throw new UsageError('--dry-run goes with --status dead');
  const filter = bulk ? listFilter({ ...values, limit: values.limit ?? '100' }) : null;
  return withPool(cliConfig(io.env), async (pool) => {
    const ids = filter
      ? (await listNotifications(pool, { ...filter, status: 'dead' })).map((n) => n.id).reverse()
      : [onePositional(positionals, 'notification id (its webhook-id)', NOTIFICATION_ID)];
    if (values['dry-run']) {
      if (values.json) io.stdout(jsonText({ dry_run: true, ids }));
      else io.stdout(`${ids.map((id) => `would replay ${id}`).join('\n')}${ids.length ? '\n' : ''}${ids.length} notification(s) would be replayed (dry run: nothing changed).\n`);
      return EXIT.ok;
    }
    const outcomes: ReplayOutcome[] = [];
    for (const id of ids) {
      const was = await replayNotification(pool, id);
      const outcome: ReplayOutcome = was
        ? { id, result: 'replayed', was }
        : { id, result: 'skipped', why: (await findNotification(pool, id)) ? 'already pending' : 'no such notification' };
      outcomes.push(outcome);
      if (!values.json) io.stdout(`${outcome.result.padEnd(8)} ${id}  ${outcome.result === 'replayed' ? `(was ${outcome.was})` : outcome.why}\n`);
    }
    const replayed = outcomes.filter((o) => o.result === 'replayed').length;
    const skipped = outcomes.length - replayed;
    if (values.json) io.stdout(jsonText({ replayed, skipped, outcomes }));
    else io.stdout(`${replayed} replayed (pending again: the deliverer sends them), ${skipped} skipped.\n`);
    return skipped > 0 && !bulk ? EXIT.refused : EXIT.ok;
  });
}

export const notificationsCommand: CommandGroup = {
  name: 'notifications',
  synopsis: ['notifications list|show|replay …                         the outbox of outgoing notifications: delivered, pending, dead; replay'],
  usage,
  async run(argv, io) {
    const parsed = subcommandOf(argv);
    if (!parsed) return io.stdout(usage), EXIT.ok;
    if (parsed.sub === 'list') return list(parsed.rest, io);
    if (parsed.sub === 'show') return show(parsed.rest, io);
    if (parsed.sub === 'replay') return replay(parsed.rest, io);
    throw new UsageError(`unknown command: notifications ${parsed.sub}`);
  },
};
