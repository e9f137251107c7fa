import { registerSearchAttributes } from '../../temporal/register-search-attributes.js';
import { PAYCONFIRM_SEARCH_ATTRIBUTES } from '../../temporal/search-attributes.js';
import { cliConfig, withTemporal } from '../cli-env.js';
import { EXIT } from '../cli-errors.js';
import { parseOnlySubcommand, type CommandGroup } from '../command.js';

const usage = `Usage: payconfirm temporal setup

Registers payconfirm's custom search attributes (${PAYCONFIRM_SEARCH_ATTRIBUTES.map((k) => k.name).join(', ')})
in TEMPORAL_NAMESPACE of a self-hosted cluster; attributes already there are left alone, so it is
safe to run on every deploy. (Temporal Cloud: add them in the Cloud UI or with tcld.)

Environment: TEMPORAL_ADDRESS (required), TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_CERT_PATH / TEMPORAL_TLS_KEY_PATH.
Exit: 0 registered or already present · 1 usage/config/connection error.
`;

export const temporalCommand: CommandGroup = {
  name: 'temporal',
  synopsis: ['temporal setup                                           register the custom search attributes'],
  usage,
  async run(argv, io) {
    if (!parseOnlySubcommand(this, 'setup', argv, io, {})) return EXIT.ok;
    const added = await withTemporal(cliConfig(io.env), ({ connection, namespace }) =>
      connection.withDeadline(Date.now() + 30_000, () => registerSearchAttributes(connection, namespace)),
    );
    io.stdout(
      added.length
        ? `registered search attributes: ${added.join(', ')}\n`
        : `search attributes already registered: ${PAYCONFIRM_SEARCH_ATTRIBUTES.map((k) => k.name).join(', ')}\n`,
    );
    return EXIT.ok;
  },
};
