import { verifyLedger, type AccountOfRecordViolation, type BalanceMismatch, type DuplicateCredit, type MirrorMismatch } from '../../db/ledger-verify.js';
import { findAccountById } from '../../db/accounts.js';
import { adjustBalance } from '../../db/admin-adjustments.js';
import { LedgerIdempotencyConflictError } from '../../db/ledger.js';
import { isAccountId } from '../../domain/account-id.js';
import { isCurrencyCode } from '../../domain/money.js';
import { noPositionals, parseCommandArgs } from '../args.js';
import { cliConfig, withPool } from '../cli-env.js';
import { CliFailure, EXIT, UsageError } from '../cli-errors.js';
import { parseOnlySubcommand, type CommandGroup } from '../command.js';
import { jsonText, tableText, type CliIo, type Column } from '../output.js';

const usage = `Usage: payconfirm ledger verify [--json]
       payconfirm ledger adjust --account ACCOUNT_UUID --amount MINOR --currency CUR --reason TEXT --key KEY [--json]

adjust  credits (positive --amount) or debits (negative, written --amount=-500) an account by hand, for support: one ledger entry
        (admin_credit / admin_debit) under the explicit --key — the same key again applies nothing more (the
        existing entry is printed), the same key for another adjustment is refused (exit 4); the reason is text
        for people, so two adjustments with one reason and two keys both apply. Amounts are integer minor units.

verify  checks the ledger's invariants in one consistent snapshot (read-only):
  1. for every (account, currency) the stored balance equals the sum of its ledger entries;
  2. at most one payment credit per Stripe PaymentIntent;
  7. every movement of a PaymentIntent is on its account of record (the credit's account), and — with
     STRIPE_BALANCE_MIRROR=on and no skip-mirror decision — the recorded mirror net of each PaymentIntent is the
     opposite of its ledger net (movements younger than 15 minutes excepted: their mirror may be under way).
Prints the offending rows when one is broken. Stripe's own side of invariant 7 (ledger net = Stripe's net,
mirror transactions really on the customer): \`payconfirm reconcile\`.

Environment: DATABASE_URL (required), DATABASE_SCHEMA, STRIPE_BALANCE_MIRROR.
Exit: verify — 0 all hold · 1 a violation; adjust — 0 applied (or already applied) · 4 refused (no such account,
      the key records another adjustment); both — 1 a usage, configuration or database error.
`;

const MISMATCH_COLUMNS: Column<BalanceMismatch>[] = [
  { header: 'ACCOUNT', value: (m) => m.accountId },
  { header: 'CURRENCY', value: (m) => m.currency },
  { header: 'STORED BALANCE', value: (m) => m.storedMinor },
  { header: 'SUM OF LEDGER', value: (m) => m.ledgerSumMinor },
];
const ACCOUNT_COLUMNS: Column<AccountOfRecordViolation>[] = [
  { header: 'PAYMENT INTENT', value: (v) => v.paymentIntentId },
  { header: 'ACCOUNTS', value: (v) => v.accounts },
];
const MIRROR_COLUMNS: Column<MirrorMismatch>[] = [
  { header: 'PAYMENT INTENT', value: (m) => m.paymentIntentId },
  { header: 'LEDGER NET', value: (m) => m.ledgerNetMinor },
  { header: 'MIRROR NET', value: (m) => m.mirrorNetMinor },
  { header: 'UNMIRRORED', value: (m) => m.unmirroredMovements },
];
const DUPLICATE_COLUMNS: Column<DuplicateCredit>[] = [
  { header: 'PAYMENT INTENT', value: (d) => d.paymentIntentId },
  { header: 'CREDITS', value: (d) => d.entries },
];

async function adjust(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    account: { type: 'string' },
    amount: { type: 'string' },
    currency: { type: 'string' },
    reason: { type: 'string' },
    key: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) return io.stdout(usage), EXIT.ok;
  noPositionals(positionals);
  if (!isAccountId(values.account)) throw new UsageError('--account takes the account id (a UUID)');
  if (!values.amount || !/^-?[1-9]\d{0,14}$/.test(values.amount)) throw new UsageError('--amount takes a non-zero whole number of minor units (negative: a debit)');
  if (!isCurrencyCode(values.currency)) throw new UsageError('--currency takes a lower-case ISO 4217 code, e.g. usd');
  if (!values.reason?.trim()) throw new UsageError('--reason TEXT is required: why the balance is adjusted');
  if (!values.key || !/^[\x21-\x7e]{1,200}$/.test(values.key)) throw new UsageError('--key is required: 1–200 printable characters, one per adjustment');
  const adjustment = { accountId: values.account, amountMinor: Number(values.amount), currency: values.currency, reason: values.reason, key: values.key };
  const config = cliConfig(io.env);
  return withPool(config, async (pool) => {
    if (!(await findAccountById(pool, adjustment.accountId))) throw new CliFailure(`no account ${adjustment.accountId}`, EXIT.refused);
    let result;
    try {
      result = await adjustBalance(pool, adjustment);
    } catch (err) {
      if (err instanceof LedgerIdempotencyConflictError) throw new CliFailure(`refused: key ${adjustment.key} already records another adjustment (${err.message})`, EXIT.refused);
      throw err;
    }
    const { entry, created } = result;
    const summary = { ledgerEntryId: entry.id, accountId: entry.accountId, kind: entry.kind, amountMinor: entry.amountMinor, currency: entry.currency, reason: entry.reference, applied: created };
    io.stdout(
      values.json
        ? jsonText(summary)
        : `${created ? 'applied' : 'already applied under this key, nothing changed'}: ${entry.kind} ${entry.amountMinor} ${entry.currency} to account ${entry.accountId}, ledger entry ${entry.id}\n`,
    );
    return EXIT.ok;
  });
}

export const ledgerCommand: CommandGroup = {
  name: 'ledger',
  synopsis: [
    'ledger verify [--json]                                   check balance = sum of ledger, one credit per PaymentIntent, books per payment',
    'ledger adjust --account … --amount … --currency … --reason … --key …   a support credit or debit, once per key',
  ],
  usage,
  async run(argv, io) {
    if (argv[0] === 'adjust') return adjust(argv.slice(1), io);
    const values = parseOnlySubcommand(this, 'verify', argv, io, { json: { type: 'boolean' } });
    if (!values) return EXIT.ok;
    const config = cliConfig(io.env);
    const result = await withPool(config, (pool) => verifyLedger(pool, { balanceMirror: config.moneyPolicy.balanceMirror }));
    if (values.json) {
      io.stdout(jsonText(result));
    } else if (result.ok) {
      io.stdout('ledger ok: every balance equals the sum of its entries; no PaymentIntent is credited twice; every payment keeps its account of record and its mirror\n');
    } else {
      if (result.balanceMismatches.length) io.stdout(`Balances that differ from the sum of their ledger entries (invariant 1):\n${tableText(MISMATCH_COLUMNS, result.balanceMismatches)}\n`);
      if (result.duplicateCredits.length) io.stdout(`PaymentIntents credited more than once (invariant 2):\n${tableText(DUPLICATE_COLUMNS, result.duplicateCredits)}\n`);
      if (result.accountOfRecordViolations.length) io.stdout(`PaymentIntents whose movements span accounts (invariant 7):\n${tableText(ACCOUNT_COLUMNS, result.accountOfRecordViolations)}\n`);
      if (result.mirrorMismatches.length) io.stdout(`PaymentIntents whose recorded mirror is not the opposite of the ledger (invariant 7):\n${tableText(MIRROR_COLUMNS, result.mirrorMismatches)}\n`);
    }
    if (!result.ok) {
      io.stderr(
        `ledger verify: ${result.balanceMismatches.length} balance mismatch(es), ${result.duplicateCredits.length} PaymentIntent(s) credited more than once, ` +
          `${result.accountOfRecordViolations.length} off their account of record, ${result.mirrorMismatches.length} with a mirror that does not follow the ledger\n`,
      );
    }
    return result.ok ? EXIT.ok : EXIT.failure;
  },
};
