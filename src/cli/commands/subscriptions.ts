import { isAccountId } from '../../domain/account-id.js';
import { CUSTOMER_ID } from '../../domain/stripe-ids.js';
import { SUBSCRIPTION_ID } from '../../subscriptions/subscription-state.js';
import { findSubscription, listSubscriptions, type StoredSubscription } from '../../subscriptions/subscription-store.js';
import { noPositionals, onePositional, parseCommandArgs } from '../args.js';
import { cliConfig, withPool } from '../cli-env.js';
import { CliFailure, EXIT, UsageError } from '../cli-errors.js';
import { subcommandOf, type CommandGroup } from '../command.js';
import { jsonText, tableText, type CliIo, type Column } from '../output.js';

const usage = `Usage:
  payconfirm subscriptions show sub_… [--json]
  payconfirm subscriptions list [--customer cus_…] [--account ID] [--status STATUS] [--limit N] [--json]

Stripe subscriptions as payconfirm keeps them (table stripe_subscriptions): each row is written from a fresh read of
the subscription by its workflow (workflow id = the subscription id), woken by every customer.subscription.* event.
show prints one subscription: status, customer and account, items (price, quantity, unit amount in minor units),
current period, cancellation, its version (one per change of state, one notification each) and the last read.
list prints subscriptions, newest first (Stripe's created).
  --customer  a Stripe customer (cus_…)
  --account   a payconfirm account id
  --status    a Stripe subscription status (active, trialing, past_due, canceled, …)
  --limit     at most N rows (default 50, at most 1000)

Environment: DATABASE_URL (required), DATABASE_SCHEMA.
Exit: 0 shown / listed · 4 no such subscription · 1 usage, configuration or database error.
`;

const money = (minor: number | null, currency: string) => (minor === null ? `(no unit amount) ${currency}` : `${minor} ${currency}`);
const every = (interval: string | null, count: number | null) => (interval ? ` / ${count ?? 1} ${interval}` : '');

const COLUMNS: Column<StoredSubscription>[] = [
  { header: 'SUBSCRIPTION', value: (s) => s.id },
  { header: 'STATUS', value: (s) => s.status },
  { header: 'CUSTOMER', value: (s) => s.customer_id },
  { header: 'ACCOUNT', value: (s) => s.account_id },
  { header: 'PERIOD END', value: (s) => s.current_period_end },
  { header: 'CANCEL AT END', value: (s) => (s.cancel_at_period_end ? 'yes' : 'no') },
  { header: 'VERSION', value: (s) => s.version },
  { header: 'ITEMS', value: (s) => s.items.map((i) => `${i.price_id}×${i.quantity ?? '—'}`).join(', '), maxWidth: 60 },
];

function showText(s: StoredSubscription): string {
  return [
    `${s.id}  ${s.status}  (version ${s.version}${s.livemode ? '' : ', test mode'})`,
    `customer   ${s.customer_id}; account ${s.account_id ?? '— (no payconfirm account linked to this customer)'}`,
    `period     ${s.current_period_start ?? '—'} → ${s.current_period_end ?? '—'}; cancel at period end: ${s.cancel_at_period_end ? 'yes' : 'no'}`,
    `cancel     at ${s.cancel_at ?? '—'}; canceled ${s.canceled_at ?? '—'}; ended ${s.ended_at ?? '—'}; trial end ${s.trial_end ?? '—'}`,
    ...(s.pause_collection ? [`paused     collection: ${s.pause_collection.behavior}, resumes ${s.pause_collection.resumes_at ?? '—'}`] : []),
    ...s.items.map(
      (i, n) => `${n === 0 ? 'items     ' : '          '} ${i.id}  ${i.price_id}${i.product_id ? ` (${i.product_id})` : ''}  × ${i.quantity ?? '—'}  at ${money(i.unit_amount_minor, i.currency)}${every(i.interval, i.interval_count)}`,
    ),
    ...(s.items.length === 0 ? ['items      none'] : []),
    `read       ${s.read_at}${s.last_event_id ? ` (woken by ${s.last_event_id})` : ''}; last change ${s.changed_at}; created on Stripe ${s.created}`,
    `workflow   ${s.id} (temporal workflow show --workflow-id ${s.id})`,
    '',
  ].join('\n');
}

async function show(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { json: { type: 'boolean' } });
  if (values.help) return io.stdout(usage), EXIT.ok;
  const id = onePositional(positionals, 'Stripe subscription id (sub_…)', SUBSCRIPTION_ID);
  const row = await withPool(cliConfig(io.env), (pool) => findSubscription(pool, id));
  if (!row) throw new CliFailure(`no subscription ${id} (no customer.subscription.* event about it has been processed)`, EXIT.refused);
  io.stdout(values.json ? jsonText(row) : showText(row));
  return EXIT.ok;
}

async function list(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    customer: { type: 'string' },
    account: { type: 'string' },
    status: { type: 'string' },
    limit: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) return io.stdout(usage), EXIT.ok;
  noPositionals(positionals);
  if (values.customer !== undefined && !CUSTOMER_ID.test(values.customer)) throw new UsageError('--customer is a Stripe customer id (cus_…)');
  if (values.account !== undefined && !isAccountId(values.account)) throw new UsageError('--account is a payconfirm account id (a UUID)');
  if (values.status !== undefined && !/^[a-z_]+$/.test(values.status)) throw new UsageError('--status is a Stripe subscription status (e.g. active)');
  const limit = values.limit ?? '50';
  if (!/^([1-9]\d{0,2}|1000)$/.test(limit)) throw new UsageError('--limit is a whole number from 1 to 1000');
  const rows = await withPool(cliConfig(io.env), (pool) =>
    listSubscriptions(pool, {
      limit: Number(limit),
      ...(values.customer ? { customerId: values.customer } : {}),
      ...(values.account ? { accountId: values.account } : {}),
      ...(values.status ? { status: values.status } : {}),
    }),
  );
  if (values.json) io.stdout(jsonText(rows));
  else io.stdout(rows.length ? `${tableText(COLUMNS, rows)}${rows.length} subscription(s).\n` : 'No subscriptions match.\n');
  return EXIT.ok;
}

export const subscriptionsCommand: CommandGroup = {
  name: 'subscriptions',
  synopsis: ['subscriptions show sub_… | list [--customer …] [--json]  Stripe subscriptions as kept from fresh reads of Stripe'],
  usage,
  async run(argv, io) {
    const parsed = subcommandOf(argv);
    if (!parsed) return io.stdout(usage), EXIT.ok;
    if (parsed.sub === 'show') return show(parsed.rest, io);
    if (parsed.sub === 'list') return list(parsed.rest, io);
    throw new UsageError(`unknown command: subscriptions ${parsed.sub}`);
  },
};
