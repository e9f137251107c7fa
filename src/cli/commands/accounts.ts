import { AccountExistsError, createAccount, findAccountById, isAccountEmail, setAccountEmail, type Account } from '../../db/accounts.js';
import type { Pool } from '../../db/pool.js';
import { listAvailability, listOpenHolds } from '../../db/balance-holds.js';
import { createApiKey, InvalidApiKeyRequestError, isApiKeyId, listApiKeys, revokeApiKey, type ApiKeyRecord } from '../../db/api-keys.js';
import { isAccountId } from '../../domain/account-id.js';
import { API_KEY_SCOPES, parseScopeList } from '../../domain/api-key-scopes.js';
import { durationMinutes } from '../../domain/duration.js';
import { CUSTOMER_ID } from '../../domain/stripe-ids.js';
import { noPositionals, onePositional, parseCommandArgs } from '../args.js';
import { cliConfig, withPool } from '../cli-env.js';
import { CliFailure, EXIT, UsageError } from '../cli-errors.js';
import { subcommandOf, type CommandGroup } from '../command.js';
import { jsonText, tableText, type CliIo, type Column } from '../output.js';

const usage = `Usage:
  payconfirm accounts create --stripe-customer cus_… [--name NAME] [--email ADDRESS]
  payconfirm accounts show ACCOUNT_ID [--json]
  payconfirm accounts set-email ACCOUNT_ID (ADDRESS | --clear)
  payconfirm accounts keys create ACCOUNT_ID [--name NAME] [--scopes read,confirm,spend,refund] [--expires-in 30d]
  payconfirm accounts keys list ACCOUNT_ID [--json]
  payconfirm accounts keys revoke ACCOUNT_ID KEY_ID [--json]

create makes a payconfirm account linked to a Stripe customer and prints JSON with its
account_id and a new api_key. The key is shown once, only here: store it now.

show prints the account, each currency's balance, what refunds under way hold, what is available, and any
debt: a refund made in the Stripe Dashboard or a lost dispute moves the books as Stripe says and may take a
balance below zero (API callers never can; docs/refunds.md); --json has inDebt.

--email / set-email: where the e-mail receipt of each payment credit goes (docs/notifications.md,
"E-mail receipts"); a credit written while the account has none gets no receipt (recorded as skipped).

keys (docs/api-keys.md): an account may hold several live keys. keys create prints a new api_key once
(default: every scope, ${API_KEY_SCOPES.join(', ')}; never expires; --expires-in takes 90m, 12h or 30d).
Rotate: create a key, move callers to it, revoke the old one. A revoked or expired key is refused
(401 api_key_revoked / api_key_expired) from the next request on; a key without a route's scope gets
403 insufficient_scope. keys list never shows a secret, only its prefix and last four characters.

Environment: DATABASE_URL (required), DATABASE_SCHEMA.
Exit: 0 created / set / shown / listed / revoked (again) · 4 the customer already has an account, or no such account or key · 1 usage/config/database error.
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

const accountIdArg = (value: string | undefined): string => {
  if (value === undefined) throw new UsageError('expected an account id');
  if (!isAccountId(value)) throw new UsageError(`${JSON.stringify(value)} is not an account id`);
  return value;
};

/** The account, or exit 4 naming the id. */
async function existingAccount(pool: Pool, accountId: string): Promise<Account> {
  const account = await findAccountById(pool, accountId);
  if (!account) throw new CliFailure(`no account ${accountId}`, EXIT.refused);
  return account;
}

async function show(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { json: { type: 'boolean' } });
  if (values.help) return io.stdout(usage), EXIT.ok;
  const accountId = accountIdArg(positionals[0]);
  noPositionals(positionals.slice(1));
  const shown = await withPool(cliConfig(io.env), async (pool) => {
    const account = await existingAccount(pool, accountId);
    return { account, balances: await listAvailability(pool, accountId), holds: await listOpenHolds(pool, accountId) };
  });
  const balances = shown.balances.map((b) => ({
    currency: b.currency,
    balanceMinor: b.balanceMinor,
    heldMinor: b.heldMinor,
    availableMinor: b.availableMinor,
    debtMinor: Math.max(0, -b.balanceMinor),
  }));
  const inDebt = balances.some((b) => b.debtMinor > 0);
  const { account } = shown;
  if (values.json) {
    io.stdout(
      jsonText({
        accountId: account.id,
        stripeCustomerId: account.stripeCustomerId,
        name: account.name,
        email: account.email,
        createdAt: account.createdAt.toISOString(),
        inDebt,
        balances,
        openHolds: shown.holds.map((h) => ({ holdId: h.id, paymentIntentId: h.paymentIntentId, amountMinor: h.amountMinor, currency: h.currency, stripeRefundId: h.stripeRefundId, createdAt: h.createdAt.toISOString() })),
      }),
    );
  } else {
    io.stdout(`account ${account.id} (${account.name ?? 'no name'}), Stripe customer ${account.stripeCustomerId}\n`);
    io.stdout(balances.length ? `${tableText(BALANCE_COLUMNS, balances)}\n` : 'No balance yet: nothing was ever credited.\n');
    if (shown.holds.length > 0) io.stdout(`${shown.holds.length} refund(s) under way hold credits (--json lists them).\n`);
    if (inDebt) io.stdout('IN DEBT: refunds or disputes outside the API took more than the account held (docs/refunds.md).\n');
  }
  return EXIT.ok;
}

const BALANCE_COLUMNS: Column<{ currency: string; balanceMinor: number; heldMinor: number; availableMinor: number; debtMinor: number }>[] = [
  { header: 'CURRENCY', value: (b) => b.currency },
  { header: 'BALANCE', value: (b) => String(b.balanceMinor) },
  { header: 'HELD', value: (b) => String(b.heldMinor) },
  { header: 'AVAILABLE', value: (b) => String(b.availableMinor) },
  { header: 'DEBT', value: (b) => String(b.debtMinor) },
];

/** A key as the CLI prints it: every field but the secret, which the CLI never has after creation. */
const keyJson = (k: ApiKeyRecord) => ({
  keyId: k.id,
  accountId: k.accountId,
  name: k.name,
  scopes: k.scopes,
  prefix: k.prefix,
  last4: k.last4,
  state: k.state,
  createdAt: k.createdAt.toISOString(),
  expiresAt: k.expiresAt?.toISOString() ?? null,
  revokedAt: k.revokedAt?.toISOString() ?? null,
  lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
});

const KEY_COLUMNS: Column<ApiKeyRecord>[] = [
  { header: 'KEY_ID', value: (k) => k.id },
  { header: 'NAME', value: (k) => k.name, maxWidth: 24 },
  { header: 'KEY', value: (k) => `${k.prefix}…${k.last4 ?? ''}` },
  { header: 'SCOPES', value: (k) => k.scopes.join(',') },
  { header: 'STATE', value: (k) => k.state },
  { header: 'CREATED', value: (k) => k.createdAt.toISOString() },
  { header: 'EXPIRES', value: (k) => k.expiresAt?.toISOString() },
  { header: 'LAST_USED', value: (k) => k.lastUsedAt?.toISOString() },
];

async function keysCreate(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { name: { type: 'string' }, scopes: { type: 'string' }, 'expires-in': { type: 'string' } });
  if (values.help) return io.stdout(usage), EXIT.ok;
  const accountId = accountIdArg(positionals[0]);
  noPositionals(positionals.slice(1));
  const scopes = values.scopes === undefined ? [...API_KEY_SCOPES] : parseScopeList(values.scopes);
  if (!scopes) throw new UsageError(`--scopes is a comma-separated list of ${API_KEY_SCOPES.join(', ')}`);
  const expiresInMinutes = values['expires-in'] === undefined ? null : durationMinutes(values['expires-in']);
  if (expiresInMinutes === 0 || (values['expires-in'] !== undefined && expiresInMinutes === null)) throw new UsageError('--expires-in takes a duration such as 90m, 12h or 30d');
  const expiresAt = expiresInMinutes === null ? null : new Date(Date.now() + expiresInMinutes * 60_000);

  const created = await withPool(cliConfig(io.env), async (pool) => {
    const account = await existingAccount(pool, accountId);
    try {
      return await createApiKey(pool, account, { name: values.name ?? null, scopes, expiresAt });
    } catch (err) {
      if (err instanceof InvalidApiKeyRequestError) throw new UsageError(err.message);
      throw err;
    }
  });
  io.stdout(jsonText({ ...keyJson(created.key), apiKey: created.apiKey }));
  io.stderr('Store the api_key now: payconfirm keeps only its hash and cannot show it again.\n');
  return EXIT.ok;
}

async function keysList(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { json: { type: 'boolean' } });
  if (values.help) return io.stdout(usage), EXIT.ok;
  const accountId = accountIdArg(positionals[0]);
  noPositionals(positionals.slice(1));
  const keys = await withPool(cliConfig(io.env), async (pool) => {
    await existingAccount(pool, accountId);
    return listApiKeys(pool, accountId);
  });
  if (values.json) io.stdout(jsonText(keys.map(keyJson)));
  else io.stdout(keys.length ? `${tableText(KEY_COLUMNS, keys)}\n${keys.length} key(s).\n` : 'The account has no keys.\n');
  return EXIT.ok;
}

async function keysRevoke(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { json: { type: 'boolean' } });
  if (values.help) return io.stdout(usage), EXIT.ok;
  const accountId = accountIdArg(positionals[0]);
  const keyId = positionals[1];
  if (keyId === undefined || !isApiKeyId(keyId)) throw new UsageError(keyId === undefined ? 'expected a key id (accounts keys list shows them)' : `${JSON.stringify(keyId)} is not a key id`);
  noPositionals(positionals.slice(2));
  const revoked = await withPool(cliConfig(io.env), (pool) => revokeApiKey(pool, accountId, keyId));
  if (!revoked) throw new CliFailure(`account ${accountId} has no key ${keyId}`, EXIT.refused);
  if (values.json) io.stdout(jsonText({ ...keyJson(revoked.key), alreadyRevoked: revoked.alreadyRevoked }));
  else io.stdout(`${revoked.alreadyRevoked ? 'already revoked' : 'revoked'} ${keyId} at ${revoked.key.revokedAt!.toISOString()}\n`);
  return EXIT.ok;
}

async function keys(argv: string[], io: CliIo): Promise<number> {
  const parsed = subcommandOf(argv);
  if (!parsed) return io.stdout(usage), EXIT.ok;
  if (parsed.sub === 'create') return keysCreate(parsed.rest, io);
  if (parsed.sub === 'list') return keysList(parsed.rest, io);
  if (parsed.sub === 'revoke') return keysRevoke(parsed.rest, io);
  throw new UsageError(`unknown command: accounts keys ${parsed.sub}`);
}

export const accountsCommand: CommandGroup = {
  name: 'accounts',
  synopsis: [
    'accounts create --stripe-customer cus_… [--name NAME] [--email ADDRESS]   create an account; prints account_id and api_key',
    'accounts show ACCOUNT_ID [--json]   balances, credits held by refunds under way, available, debt',
    'accounts set-email ACCOUNT_ID (ADDRESS | --clear)   where the account\'s e-mail receipts go',
    'accounts keys create|list|revoke ACCOUNT_ID …   API keys: several live ones (rotation), scopes, expiry; revoke at once',
  ],
  usage,
  async run(argv, io) {
    const parsed = subcommandOf(argv);
    if (!parsed) return io.stdout(usage), EXIT.ok;
    if (parsed.sub === 'create') return create(parsed.rest, io);
    if (parsed.sub === 'show') return show(parsed.rest, io);
    if (parsed.sub === 'set-email') return setEmail(parsed.rest, io);
    if (parsed.sub === 'keys') return keys(parsed.rest, io);
    throw new UsageError(`unknown command: accounts ${parsed.sub}`);
  },
};
