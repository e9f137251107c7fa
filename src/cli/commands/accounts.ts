import { AccountExistsError, createAccount } from '../../db/accounts.js';
import { CUSTOMER_ID } from '../../domain/stripe-ids.js';
import { cliConfig, withPool } from '../cli-env.js';
import { CliFailure, EXIT, UsageError } from '../cli-errors.js';
import { parseOnlySubcommand, type CommandGroup } from '../command.js';
import { jsonText } from '../output.js';

const usage = `Usage: payconfirm accounts create --stripe-customer cus_… [--name NAME]

Creates a payconfirm account linked to a Stripe customer and prints JSON with its
account_id and a new api_key. The key is shown once, only here: store it now.

Environment: DATABASE_URL (required), DATABASE_SCHEMA.
Exit: 0 created · 4 the customer already has an account · 1 usage/config/database error.
`;

export const accountsCommand: CommandGroup = {
  name: 'accounts',
  synopsis: ['accounts create --stripe-customer cus_… [--name NAME]   create an account; prints account_id and api_key'],
  usage,
  async run(argv, io) {
    const values = parseOnlySubcommand(this, 'create', argv, io, { 'stripe-customer': { type: 'string' }, name: { type: 'string' } });
    if (!values) return EXIT.ok;
    const customerId = values['stripe-customer'];
    if (!customerId) throw new UsageError('--stripe-customer cus_… is required');
    if (!CUSTOMER_ID.test(customerId)) throw new UsageError(`${JSON.stringify(customerId)} is not a Stripe customer id (cus_…)`);

    const created = await withPool(cliConfig(io.env), async (pool) => {
      try {
        return await createAccount(pool, { stripeCustomerId: customerId, name: values.name ?? null });
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
        createdAt: created.account.createdAt.toISOString(),
        apiKey: created.apiKey,
      }),
    );
    io.stderr('Store the api_key now: payconfirm keeps only its hash and cannot show it again.\n');
    return EXIT.ok;
  },
};
