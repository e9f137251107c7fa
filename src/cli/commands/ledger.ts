import { verifyLedger, type BalanceMismatch, type DuplicateCredit } from '../../db/ledger-verify.js';
import { cliConfig, withPool } from '../cli-env.js';
import { EXIT } from '../cli-errors.js';
import { parseOnlySubcommand, type CommandGroup } from '../command.js';
import { jsonText, tableText, type Column } from '../output.js';

const usage = `Usage: payconfirm ledger verify [--json]

Checks the ledger's invariants in one consistent snapshot (read-only):
  1. for every (account, currency) the stored balance equals the sum of its ledger entries;
  2. at most one payment credit per Stripe PaymentIntent.
Prints the offending rows when one is broken.

Environment: DATABASE_URL (required), DATABASE_SCHEMA.
Exit: 0 both hold · 1 a violation (or a usage/config/database error).
`;

const MISMATCH_COLUMNS: Column<BalanceMismatch>[] = [
  { header: 'ACCOUNT', value: (m) => m.accountId },
  { header: 'CURRENCY', value: (m) => m.currency },
  { header: 'STORED BALANCE', value: (m) => m.storedMinor },
  { header: 'SUM OF LEDGER', value: (m) => m.ledgerSumMinor },
];
const DUPLICATE_COLUMNS: Column<DuplicateCredit>[] = [
  { header: 'PAYMENT INTENT', value: (d) => d.paymentIntentId },
  { header: 'CREDITS', value: (d) => d.entries },
];

export const ledgerCommand: CommandGroup = {
  name: 'ledger',
  synopsis: ['ledger verify [--json]                                   check balance = sum of ledger, one credit per PaymentIntent'],
  usage,
  async run(argv, io) {
    const values = parseOnlySubcommand(this, 'verify', argv, io, { json: { type: 'boolean' } });
    if (!values) return EXIT.ok;
    const result = await withPool(cliConfig(io.env), verifyLedger);
    if (values.json) {
      io.stdout(jsonText(result));
    } else if (result.ok) {
      io.stdout('ledger ok: every balance equals the sum of its entries; no PaymentIntent is credited twice\n');
    } else {
      if (result.balanceMismatches.length) io.stdout(`Balances that differ from the sum of their ledger entries (invariant 1):\n${tableText(MISMATCH_COLUMNS, result.balanceMismatches)}\n`);
      if (result.duplicateCredits.length) io.stdout(`PaymentIntents credited more than once (invariant 2):\n${tableText(DUPLICATE_COLUMNS, result.duplicateCredits)}\n`);
    }
    if (!result.ok) {
      io.stderr(`ledger verify: ${result.balanceMismatches.length} balance mismatch(es), ${result.duplicateCredits.length} PaymentIntent(s) credited more than once\n`);
    }
    return result.ok ? EXIT.ok : EXIT.failure;
  },
};
