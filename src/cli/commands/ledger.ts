import { verifyLedger, type AccountOfRecordViolation, type BalanceMismatch, type DuplicateCredit, type MirrorMismatch } from '../../db/ledger-verify.js';
import { cliConfig, withPool } from '../cli-env.js';
import { EXIT } from '../cli-errors.js';
import { parseOnlySubcommand, type CommandGroup } from '../command.js';
import { jsonText, tableText, type Column } from '../output.js';

const usage = `Usage: payconfirm ledger verify [--json]

Checks the ledger's invariants in one consistent snapshot (read-only):
  1. for every (account, currency) the stored balance equals the sum of its ledger entries;
  2. at most one payment credit per Stripe PaymentIntent;
  7. every movement of a PaymentIntent is on its account of record (the credit's account), and — with
     STRIPE_BALANCE_MIRROR=on and no skip-mirror decision — the recorded mirror net of each PaymentIntent is the
     opposite of its ledger net (movements younger than 15 minutes excepted: their mirror may be under way).
Prints the offending rows when one is broken. Stripe's own side of invariant 7 (ledger net = Stripe's net,
mirror transactions really on the customer): \`payconfirm reconcile\`.

Environment: DATABASE_URL (required), DATABASE_SCHEMA, STRIPE_BALANCE_MIRROR.
Exit: 0 all hold · 1 a violation (or a usage/config/database error).
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

export const ledgerCommand: CommandGroup = {
  name: 'ledger',
  synopsis: ['ledger verify [--json]                                   check balance = sum of ledger, one credit per PaymentIntent, books per payment'],
  usage,
  async run(argv, io) {
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
