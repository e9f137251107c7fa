import { ConfigError } from '../config.js';
import { withDevStackDefaults } from '../runtime/dev-stack-env.js';
import { scrubSecrets } from '../logger.js';
import { StartupError } from '../runtime/startup-error.js';
import { TemporalUnreachableError } from '../temporal/connection.js';
import { CliFailure, EXIT, UsageError } from './cli-errors.js';
import type { CommandGroup } from './command.js';
import { accountsCommand } from './commands/accounts.js';
import { confirmCommand } from './commands/confirm.js';
import { dbCommand } from './commands/db.js';
import { eventsCommand } from './commands/events.js';
import { debitCommand, refundCommand } from './commands/money-moves.js';
import { ledgerCommand } from './commands/ledger.js';
import { notificationsCommand } from './commands/notifications.js';
import { receiptsCommand } from './commands/receipts.js';
import { paymentsCommand } from './commands/payments.js';
import { reconcileCommand } from './commands/reconcile.js';
import { subscriptionsCommand } from './commands/subscriptions.js';
import { temporalCommand } from './commands/temporal.js';
import { jsonText, type CliIo } from './output.js';

/** `payconfirm <group> …`: dispatches to one command group; turns failures into one stderr line and an exit code. */
const GROUPS: CommandGroup[] = [accountsCommand, confirmCommand, debitCommand, refundCommand, paymentsCommand, eventsCommand, subscriptionsCommand, notificationsCommand, receiptsCommand, ledgerCommand, reconcileCommand, dbCommand, temporalCommand];

const USAGE = `Usage: payconfirm <command> [options]

Commands:
${GROUPS.flatMap((g) => g.synopsis.map((line) => `  ${line}`)).join('\n')}

Run \`payconfirm <command> --help\` for a command's options, environment and exit codes.
Configuration comes from the environment (DATABASE_URL, DATABASE_SCHEMA, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
TEMPORAL_TASK_QUEUE, PAYCONFIRM_API_URL, PAYCONFIRM_API_KEY, …); each command reads only what it uses.
Exit codes: 0 done · 1 usage/configuration/network error or ledger violation · 2 pending · 3 not_payable · 4 refused.
`;

async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') return io.stdout(USAGE), EXIT.ok;
  const group = GROUPS.find((g) => g.name === name);
  const label = `payconfirm ${group ? name : ''}`.trimEnd();
  try {
    if (!group) throw new UsageError(`unknown command: ${name}`);
    return await group.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`${label}: ${err.message}\nRun \`payconfirm ${group ? `${name} ` : ''}--help\` for usage.\n`);
      return EXIT.failure;
    }
    if (err instanceof CliFailure) {
      if (err.json !== undefined) io.stdout(jsonText(err.json));
      io.stderr(`${label}: ${scrubSecrets(err.message)}\n`);
      return err.exitCode;
    }
    const known = err instanceof ConfigError || err instanceof StartupError || err instanceof TemporalUnreachableError;
    const message = err instanceof ConfigError ? `invalid configuration: ${err.message}` : String((err as Error)?.message ?? err);
    io.stderr(`${label}: ${scrubSecrets(message)}${known ? '' : ' (unexpected)'}\n`);
    return EXIT.failure;
  }
}

const io: CliIo = {
  // A running `npm start` stack fills what the environment lacks (src/dev/dev-stack-env.ts).
  env: withDevStackDefaults(process.env),
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

// Flushes stdout before exiting: on a pipe, write() may still be queued when the command returns.
const code = await runCli(process.argv.slice(2), io);
process.stdout.write('', () => process.exit(code));
