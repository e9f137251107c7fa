import type { Pool } from '../../db/pool.js';
import { OUTBOX_ROW_ID } from '../../notifications/outbox-rows.js';
import { listSelection, noPositionals, onePositional, parseCommandArgs, type ListSelection } from '../args.js';
import { cliConfig, withPool } from '../cli-env.js';
import { CliFailure, EXIT, UsageError } from '../cli-errors.js';
import { subcommandOf, type CommandGroup } from '../command.js';
import { snakeKeys, tableText, type CliIo, type Column } from '../output.js';

/**
 * `list`, `show` and `replay` of an outbox (src/notifications/): the same three commands for the outgoing
 * notifications and the e-mail receipts, each outbox saying what differs (its statuses, columns, what `show` prints).
 */
export interface OutboxCommandSpec<Row extends { id: string; status: Status; payload: unknown }, Status extends string> {
  name: string;
  /** `notification`, `receipt`: in messages. */
  noun: string;
  usage: string;
  synopsis: string;
  statuses: readonly Status[];
  /** What `replay --status` takes, and what a replay by id may find. */
  replayable: { bulkStatus: Status; byIdHint: string };
  /** What an id names, in messages (`notification id (its webhook-id)`); every outbox's ids have one shape, OUTBOX_ROW_ID. */
  idWhat: string;
  /** The outbox has types to filter on (`--type`); `typeNoun` names one in errors. */
  types: { typeNoun: string } | null;
  columns: Column<Row>[];
  showLines(row: Row): string[];
  find(pool: Pool, id: string): Promise<Row | null>;
  list(pool: Pool, filter: ListSelection & { status?: Status }): Promise<Row[]>;
  /** The status the row had, or null when it was not replayed (see `skipReason`). */
  replay(pool: Pool, id: string): Promise<Status | null>;
  /** Why a row that exists was not replayed. */
  skipReason(row: Row): string;
}

/** JSON as the rest of the CLI prints it (snake_case keys), the payload exactly as stored. */
const jsonText = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
const asJson = ({ payload, ...row }: { payload: unknown }) => ({ ...(snakeKeys(row) as object), payload });

export function outboxCommand<Row extends { id: string; status: Status; payload: unknown }, Status extends string>(
  spec: OutboxCommandSpec<Row, Status>,
): CommandGroup {
  const selectOptions = {
    status: { type: 'string' },
    type: { type: 'string' },
    since: { type: 'string' },
    limit: { type: 'string' },
    json: { type: 'boolean' },
  } as const;
  const selection = (values: { type?: string | undefined; since?: string | undefined; limit?: string | undefined }, defaultLimit: string) => {
    if (!spec.types && values.type !== undefined) throw new UsageError(`${spec.name} have one type: --type does not apply`);
    return listSelection({ ...values, limit: values.limit ?? defaultLimit }, spec.types?.typeNoun ?? '');
  };
  const idOf = (positionals: string[]) => onePositional(positionals, spec.idWhat, OUTBOX_ROW_ID);
  const plural = `${spec.noun}(s)`;

  async function list(argv: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseCommandArgs(argv, selectOptions);
    if (values.help) return io.stdout(spec.usage), EXIT.ok;
    noPositionals(positionals);
    if (values.status !== undefined && !spec.statuses.includes(values.status as Status)) throw new UsageError(`--status is one of ${spec.statuses.join(', ')}`);
    const filter = selection(values, '50');
    const rows = await withPool(cliConfig(io.env), (pool) => spec.list(pool, { ...filter, ...(values.status ? { status: values.status as Status } : {}) }));
    if (values.json) io.stdout(jsonText(rows.map(asJson)));
    else io.stdout(rows.length ? `${tableText(spec.columns, rows)}${rows.length} ${plural}.\n` : `No ${spec.noun}s match.\n`);
    return EXIT.ok;
  }

  async function show(argv: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseCommandArgs(argv, { json: { type: 'boolean' } });
    if (values.help) return io.stdout(spec.usage), EXIT.ok;
    const id = idOf(positionals);
    const row = await withPool(cliConfig(io.env), (pool) => spec.find(pool, id));
    if (!row) throw new CliFailure(`no ${spec.noun} ${id}`, EXIT.refused);
    io.stdout(values.json ? jsonText(asJson(row)) : `${spec.showLines(row).join('\n')}\n`);
    return EXIT.ok;
  }

  type ReplayOutcome = { id: string; result: 'replayed'; was: Status } | { id: string; result: 'skipped'; why: string };

  async function replay(argv: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parseCommandArgs(argv, { ...selectOptions, 'dry-run': { type: 'boolean' } });
    if (values.help) return io.stdout(spec.usage), EXIT.ok;
    const bulk = values.status !== undefined;
    const selectors = spec.types ? '--type, --since and --limit' : '--since and --limit';
    if (bulk === positionals.length > 0) throw new UsageError(`replay takes one ${spec.idWhat} or --status ${spec.replayable.bulkStatus}, not both`);
    if (bulk && values.status !== spec.replayable.bulkStatus) throw new UsageError(`--status is ${spec.replayable.bulkStatus} (${spec.replayable.byIdHint})`);
    if (!bulk && (values.type ?? values.since ?? values.limit) !== undefined) throw new UsageError(`${selectors} select ${spec.noun}s for --status`);
    if (!bulk && values['dry-run']) throw new UsageError(`--dry-run goes with --status ${spec.replayable.bulkStatus}`);
    const filter = bulk ? selection(values, '100') : null;
    return withPool(cliConfig(io.env), async (pool) => {
      const ids = filter ? (await spec.list(pool, { ...filter, status: spec.replayable.bulkStatus })).map((row) => row.id).reverse() : [idOf(positionals)];
      if (values['dry-run']) {
        if (values.json) io.stdout(jsonText({ dry_run: true, ids }));
        else io.stdout(`${ids.map((id) => `would replay ${id}`).join('\n')}${ids.length ? '\n' : ''}${ids.length} ${plural} would be replayed (dry run: nothing changed).\n`);
        return EXIT.ok;
      }
      const outcomes: ReplayOutcome[] = [];
      for (const id of ids) {
        const was = await spec.replay(pool, id);
        let outcome: ReplayOutcome;
        if (was) outcome = { id, result: 'replayed', was };
        else {
          const row = await spec.find(pool, id);
          outcome = { id, result: 'skipped', why: row ? spec.skipReason(row) : `no such ${spec.noun}` };
        }
        outcomes.push(outcome);
        if (!values.json) io.stdout(`${outcome.result.padEnd(8)} ${id}  ${outcome.result === 'replayed' ? `(was ${outcome.was})` : outcome.why}\n`);
      }
      const replayed = outcomes.filter((o) => o.result === 'replayed').length;
      const skipped = outcomes.length - replayed;
      if (values.json) io.stdout(jsonText({ replayed, skipped, outcomes }));
      else io.stdout(`${replayed} replayed (pending again: the deliverer sends them), ${skipped} skipped.\n`);
      return skipped > 0 && !bulk ? EXIT.refused : EXIT.ok;
    });
  }

  return {
    name: spec.name,
    synopsis: [spec.synopsis],
    usage: spec.usage,
    async run(argv, io) {
      const parsed = subcommandOf(argv);
      if (!parsed) return io.stdout(spec.usage), EXIT.ok;
      if (parsed.sub === 'list') return list(parsed.rest, io);
      if (parsed.sub === 'show') return show(parsed.rest, io);
      if (parsed.sub === 'replay') return replay(parsed.rest, io);
      throw new UsageError(`unknown command: ${spec.name} ${parsed.sub}`);
    },
  };
}
