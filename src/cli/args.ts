import { parseArgs } from 'node:util';
import { UsageError } from './cli-errors.js';

export type OptionSpec = Record<string, { type: 'string'; short?: string } | { type: 'boolean'; short?: string }>;
export type OptionValues<O extends OptionSpec> = { [K in keyof O]?: O[K] extends { type: 'string' } ? string : boolean } & { help?: boolean };

/**
 * node:util parseArgs, strict: unknown options and missing values become a UsageError; `--help` is always
 * accepted. Returns the option values and the positionals.
 */
export function parseCommandArgs<O extends OptionSpec>(argv: string[], options: O): { values: OptionValues<O>; positionals: string[] } {
  try {
    const parsed = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    return { values: parsed.values as OptionValues<O>, positionals: parsed.positionals };
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
}

/** One positional argument exactly, matching `shape`, named `what` in errors. */
export function onePositional(positionals: string[], what: string, shape: RegExp): string {
  if (positionals.length !== 1) throw new UsageError(`expected one ${what}, got ${positionals.length === 0 ? 'none' : positionals.join(' ')}`);
  const value = positionals[0]!;
  if (!shape.test(value)) throw new UsageError(`${JSON.stringify(value)} is not a ${what}`);
  return value;
}

export function noPositionals(positionals: string[]): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals.join(' ')}`);
}

/** A non-negative whole number of milliseconds from an option value. */
export function millisecondsOption(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d{1,9}$/.test(value)) throw new UsageError(`--${name} takes a whole number of milliseconds, got ${JSON.stringify(value)}`);
  return Number(value);
}

/**
 * parseArgs has no optional option values: `--wait` alone is rewritten to `--wait=<fallback>`, so that
 * `confirm --wait pi_…` does not take the PaymentIntent id as the number of milliseconds.
 */
export function withOptionalValue(argv: string[], name: string, fallback: number): string[] {
  return argv.map((token, i) => (token === `--${name}` && !/^\d+$/.test(argv[i + 1] ?? '') ? `--${name}=${fallback}` : token));
}

/** A listing's selection: `--type` (a type, or a prefix ending in `*`), `--since` (ISO), `--limit` (1–1000). */
export interface ListSelection {
  type?: string;
  since?: Date;
  limit: number;
}

/** Checks --type, --since and --limit of a list or bulk command; `typeNoun` names the type in the error (`an event type`). */
export function listSelection(values: { type?: string | undefined; since?: string | undefined; limit: string }, typeNoun: string): ListSelection {
  if (values.type !== undefined && !/^[a-z][a-z0-9_.]*\*?$/.test(values.type)) throw new UsageError(`--type is ${typeNoun}, or a prefix ending in *`);
  const since = values.since === undefined ? undefined : new Date(values.since);
  if (since && Number.isNaN(since.getTime())) throw new UsageError('--since wants an ISO date or date-time');
  if (!/^([1-9]\d{0,2}|1000)$/.test(values.limit)) throw new UsageError('--limit is a whole number from 1 to 1000');
  return { limit: Number(values.limit), ...(values.type ? { type: values.type } : {}), ...(since ? { since } : {}) };
}
