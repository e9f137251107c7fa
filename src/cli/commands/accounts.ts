import { AccountExistsError, createAccount, isAccountEmail, setAccountEmail } from '../../db/accounts.js';
import { CUSTOMER_ID } from '../../domain/stripe-ids.js';
import { noPositionals, onePositional, parseCommandArgs } from '../args.js';
import { cliConfig, withPool } from '../cli-env.js';
import { CliFailure, EXIT, UsageError } from '../cli-errors.js';
import { subcommandOf, type CommandGroup } from '../command.js';
import { jsonText, type CliIo } from '../output.js';

const usage = `Usage:
  payconfirm accounts create --stripe-customer cus_… [--name NAME] [--email ADDRESS]
  payconfirm accounts set-email ACCOUNT_ID (ADDRESS | --clear)

create makes a payconfirm account linked to a Stripe customer and prints JSON with its
account_id and a new api_key. The key is shown once, only here: store it now.

--email / set-email: where the e-mail receipt of each payment credit goes (docs/notifications.md,
"E-mail receipts"); a credit written while the account has none gets no receipt (recorded as skipped).

Environment: DATABASE_URL (required), DATABASE_SCHEMA.
Exit: 0 created / set · 4 the customer already has an account, or no such account · 1 usage/config/database error.
`;

const emailOption = (value: string): string => {
  if (!isAccountEmail(value)) throw new UsageError(`${JSON.stringify(value)} is not an e-mail address (local@domain, nothing else)`);
  return value;
};

async function create(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { 'stripe-customer': { type: 'string' }, name: { type: 'string' }, email: { type: 'string' } });
  if (values.help) return io.stdout(usage), EXIT.ok;
  noPositionals(positionals);
  const customerId = values['stripe-customer'];
  if (!customerId) throw new UsageError('--stripe-customer cus_… is required');
  if (!CUSTOMER_ID.test(customerId)) throw new UsageError(`${JSON.stringify(customerId)} is not a Stripe customer id (cus_…)`);
  const email = values.email === undefined ? null : emailOption(values.email);

  const created = await withPool(cliConfig(io.env), async (pool) => {
    try {
      return await createAccount(pool, { stripeCustomerId: customerId, name: values.name ?? null, email });
    } catch (err) {
      if (err instanceof AccountExistsError) throw new CliFailure(err.message, EXIT.refused);
      throw err;
    }
  });
  io.stdout(
    jsonText({
      accountId: created.account.id,
      stripeCustomerId: created.account.stripeCustomerId,
      name: created.account.name,
      email: created.account.email,
      createdAt: created.account.createdAt.toISOString(),
      apiKey: created.apiKey,
    }),
  );
  io.stderr('Store the api_key now: payconfirm keeps only its hash and cannot show it again.\n');
  return EXIT.ok;
}

async function setEmail(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { clear: { type: 'boolean' } });
  if (values.help) return io.stdout(usage), EXIT.ok;
  const [accountId, address, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`unexpected argument ${extra.join(' ')}`);
  onePositional(accountId === undefined ? [] : [accountId], 'account id', /^[0-9a-f-]{36}$/i);
  if (Boolean(values.clear) === (address !== undefined)) throw new UsageError('give an e-mail address or --clear, not both');
  const email = values.clear ? null : emailOption(address!);
  const account = await withPool(cliConfig(io.env), (pool) => setAccountEmail(pool, accountId!, email));
  if (!account) throw new CliFailure(`no account ${accountId}`, EXIT.refused);
  io.stdout(jsonText({ accountId: account.id, email: account.email }));
  return EXIT.ok;
}

export const accountsCommand: CommandGroup = {
  name: 'accounts',
  synopsis: [
    'accounts create --stripe-customer cus_… [--name NAME] [--email ADDRESS]   create an account; prints account_id and api_key',
    'accounts set-email ACCOUNT_ID (ADDRESS | --clear)   where the account\'s e-mail receipts go',
  ],
  usage,
  async run(argv, io) {
    const parsed = subcommandOf(argv);
    if (!parsed) return io.stdout(usage), EXIT.ok;
    if (parsed.sub === 'create') return create(parsed.rest, io);
    if (parsed.sub === 'set-email') return setEmail(parsed.rest, io);
    throw new UsageError(`unknown command: accounts ${parsed.sub}`);
  },
};
