import {
  findNotification,
  listNotifications,
  NOTIFICATION_STATUSES,
  replayNotification,
  type NotificationStatus,
  type OutgoingNotification,
} from '../../notifications/outbox.js';
import type { CommandGroup } from '../command.js';
import type { Column } from '../output.js';
import { outboxCommand } from './outbox-command.js';

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

const COLUMNS: Column<OutgoingNotification>[] = [
  { header: 'ID', value: (n) => n.id, maxWidth: 70 },
  { header: 'TYPE', value: (n) => n.type },
  { header: 'STATUS', value: (n) => n.status },
  { header: 'ATTEMPTS', value: (n) => n.attempts },
  { header: 'CREATED', value: (n) => n.createdAt.toISOString() },
  { header: 'LAST', value: (n) => n.lastError ?? (n.lastStatusCode === null ? null : `HTTP ${n.lastStatusCode}`), maxWidth: 60 },
];

function showLines(n: OutgoingNotification): string[] {
  const next = n.status === 'pending' ? `, next ${n.nextAttemptAt.toISOString()}` : '';
  return [
    `${n.id}  ${n.type}`,
    `status     ${n.status}${n.deliveredAt ? ` at ${n.deliveredAt.toISOString()}` : ''}${n.deadAt ? ` at ${n.deadAt.toISOString()}` : ''}`,
    `created    ${n.createdAt.toISOString()}`,
    `attempts   ${n.attempts}${next}${n.lastAttemptAt ? `; last ${n.lastAttemptAt.toISOString()}` : ''}${n.lastStatusCode !== null ? ` HTTP ${n.lastStatusCode}` : ''}${n.lastError ? `; last error: ${n.lastError}` : ''}`,
    ...(n.replayCount > 0 ? [`replayed   ${n.replayCount} time(s), last ${n.replayedAt?.toISOString() ?? '—'}`] : []),
    `body       ${JSON.stringify(n.payload)}`,
  ];
}

export const notificationsCommand: CommandGroup = outboxCommand<OutgoingNotification, NotificationStatus>({
  name: 'notifications',
  noun: 'notification',
  usage,
  synopsis: 'notifications list|show|replay …                         the outbox of outgoing notifications: delivered, pending, dead; replay',
  statuses: NOTIFICATION_STATUSES,
  replayable: { bulkStatus: 'dead', byIdHint: 'replay one delivered notification by its id' },
  idWhat: 'notification id (its webhook-id)',
  types: { typeNoun: 'a notification type' },
  columns: COLUMNS,
  showLines,
  find: findNotification,
  list: listNotifications,
  replay: replayNotification,
  skipReason: () => 'already pending',
});
