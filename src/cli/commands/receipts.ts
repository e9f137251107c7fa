import type { ReceiptStatus } from '../../notifications/email-receipts.js';
import { findReceipt, listReceipts, RECEIPT_STATUSES, replayReceipt, type OutgoingEmail } from '../../notifications/receipt-outbox.js';
import type { CommandGroup } from '../command.js';
import type { Column } from '../output.js';
import { outboxCommand } from './outbox-command.js';

const usage = `Usage:
  payconfirm receipts list [--status STATUS] [--since DATE] [--limit N] [--json]
  payconfirm receipts show ID [--json]
  payconfirm receipts replay ID [--json]
  payconfirm receipts replay --status dead [--since DATE] [--limit N] [--dry-run] [--json]

The e-mail receipts (table outgoing_emails), newest first: one per payment credit, ID = the credit's movement key
(stripe:payment_intent:pi_…), from which the e-mail's Message-ID is derived.
  --status  ${RECEIPT_STATUSES.join(' | ')}   (skipped: the account had no e-mail address when credited)
  --since   ISO date or date-time (created at or after)
  --limit   at most N rows (default 50, at most 1000)

show prints one receipt: its status, recipient, attempts, the SMTP server's last reply or error, and what it says.

replay makes a dead receipt (or a sent one, to send it again) pending, due now, with a fresh budget of
RECEIPT_MAX_ATTEMPTS, to the address it was written with; the workers' deliverer sends it within a second or so,
under the same Message-ID, so a mailbox that already holds it drops the copy. A skipped receipt is not replayed.
--status dead replays every dead one; --dry-run lists them only.

Environment: DATABASE_URL (required), DATABASE_SCHEMA.
Exit: 0 listed / shown / replayed · 4 no such receipt, or one not replayed · 1 usage, configuration or database error.
`;

const smtpReply = (r: OutgoingEmail) => r.lastError ?? (r.lastStatusCode === null ? null : `SMTP ${r.lastStatusCode}`);

const COLUMNS: Column<OutgoingEmail>[] = [
  { header: 'ID', value: (r) => r.id, maxWidth: 70 },
  { header: 'TO', value: (r) => r.recipient, maxWidth: 40 },
  { header: 'STATUS', value: (r) => r.status },
  { header: 'ATTEMPTS', value: (r) => r.attempts },
  { header: 'CREATED', value: (r) => r.createdAt.toISOString() },
  { header: 'LAST', value: smtpReply, maxWidth: 60 },
];

function showLines(r: OutgoingEmail): string[] {
  const next = r.status === 'pending' ? `, next ${r.nextAttemptAt.toISOString()}` : '';
  const at = r.sentAt ?? r.deadAt;
  const reply = smtpReply(r);
  return [
    `${r.id}  payment.receipt`,
    `status     ${r.status}${at ? ` at ${at.toISOString()}` : ''}`,
    `to         ${r.recipient ?? '— (the account had no e-mail address)'}`,
    `created    ${r.createdAt.toISOString()}`,
    `attempts   ${r.attempts}${next}${r.lastAttemptAt ? `; last ${r.lastAttemptAt.toISOString()}` : ''}${reply ? `: ${reply}` : ''}`,
    `says       ${JSON.stringify(r.payload)}`,
  ];
}

export const receiptsCommand: CommandGroup = outboxCommand<OutgoingEmail, ReceiptStatus>({
  name: 'receipts',
  noun: 'receipt',
  usage,
  synopsis: 'receipts list|show|replay …                              e-mail receipts: sent, pending, dead, skipped; replay',
  statuses: RECEIPT_STATUSES,
  replayable: { bulkStatus: 'dead', byIdHint: 'replay one sent receipt by its id' },
  idWhat: "receipt id (the credit's movement key)",
  types: null,
  columns: COLUMNS,
  showLines,
  find: findReceipt,
  list: listReceipts,
  replay: replayReceipt,
  skipReason: (r) => (r.status === 'skipped' ? 'skipped: the account had no e-mail address' : 'already pending'),
});
