import { migrateUp } from '../../db/migrate.js';
import { cliConfig, requireDatabase } from '../cli-env.js';
import { EXIT } from '../cli-errors.js';
import { parseOnlySubcommand, type CommandGroup } from '../command.js';

const usage = `Usage: payconfirm db migrate

Applies pending SQL migrations (src/db/migrations) to DATABASE_URL, in DATABASE_SCHEMA when set
(created if missing). Safe to run again and from several places at once (advisory lock).

Environment: DATABASE_URL (required), DATABASE_SCHEMA.
Exit: 0 applied or already up to date · 1 usage/config/database error.
`;

export const dbCommand: CommandGroup = {
  name: 'db',
  synopsis: ['db migrate                                               apply pending ledger migrations'],
  usage,
  async run(argv, io) {
    if (!parseOnlySubcommand(this, 'migrate', argv, io, {})) return EXIT.ok;
    const db = requireDatabase(cliConfig(io.env));
    const applied = await migrateUp({ url: db.url, ...(db.schema ? { schema: db.schema } : {}) });
    const where = `schema ${db.schema ?? 'public'}`;
    io.stdout(applied.length ? `applied ${applied.length} migration(s) to ${where}: ${applied.join(', ')}\n` : `${where} is up to date\n`);
    return EXIT.ok;
  },
};
