import { noPositionals, parseCommandArgs, type OptionSpec, type OptionValues } from './args.js';
import { UsageError } from './cli-errors.js';
import type { CliIo } from './output.js';

/** One command group (`payconfirm <name> …`), in its own file under commands/. */
export interface CommandGroup {
  name: string;
  /** Its lines in `payconfirm --help`. */
  synopsis: string[];
  /** `payconfirm <name> --help`. */
  usage: string;
  /** Runs the group's command; resolves to the exit code (see cli-errors.ts). */
  run(argv: string[], io: CliIo): Promise<number>;
}

/** Splits `<subcommand> …rest`, or null when the group's usage should be shown. */
export function subcommandOf(argv: string[]): { sub: string; rest: string[] } | null {
  const [sub, ...rest] = argv;
  return sub === undefined || sub === '--help' || sub === '-h' || sub === 'help' ? null : { sub, rest };
}

/**
 * For a group with one subcommand taking only options (`ledger verify`, `db migrate`, …): parses it,
 * or prints the group's usage and returns null for `--help`. Anything else is a UsageError.
 */
export function parseOnlySubcommand<O extends OptionSpec>(
  group: { name: string; usage: string },
  expected: string,
  argv: string[],
  io: CliIo,
  options: O,
): OptionValues<O> | null {
  const parsed = subcommandOf(argv);
  if (!parsed) return io.stdout(group.usage), null;
  if (parsed.sub !== expected) throw new UsageError(`unknown command: ${group.name} ${parsed.sub}`);
  const { values, positionals } = parseCommandArgs(parsed.rest, options);
  if (values.help) return io.stdout(group.usage), null;
  noPositionals(positionals);
  return values;
}
