import type { PaymentResult } from '../../client/index.js';
import { apiClientFrom, DEFAULT_API_URL, viaApi } from '../api-client.js';
import { PAYMENT_INTENT_ID } from '../../domain/stripe-ids.js';
import { millisecondsOption, onePositional, parseCommandArgs, withOptionalValue } from '../args.js';
import { EXIT, type ExitCode } from '../cli-errors.js';
import type { CommandGroup } from '../command.js';
import { jsonText } from '../output.js';

const DEFAULT_WAIT_MS = 60_000;
/** Beyond the wait: the client's own retries of network errors, 429 and 5xx, bounded. */
const CALL_MARGIN_MS = 60_000;

const usage = `Usage: payconfirm confirm pi_… [--wait [MS]] [--json] [--api-url URL] [--api-key KEY]

Asks the payconfirm HTTP API to confirm a Stripe PaymentIntent and credit the caller's account
(POST /billing/confirm_payment through the typed client). Safe to repeat: a PaymentIntent is
credited once; later calls answer already_credited.

  --wait [MS]     while the answer is pending, poll until it settles, at most MS ms (default ${DEFAULT_WAIT_MS})
  --json          print the answer as JSON (snake_case, like the HTTP API)
  --api-url URL   the API (env PAYCONFIRM_API_URL, default ${DEFAULT_API_URL})
  --api-key KEY   the account's API key (env PAYCONFIRM_API_KEY; prefer the env: arguments show in ps)

Exit: 0 credited or already_credited · 2 pending · 3 not_payable · 4 rejected or other API error
      · 1 usage, configuration or network error.
`;

const EXIT_BY_STATUS: Record<PaymentResult['status'], ExitCode> = {
  credited: EXIT.ok,
  already_credited: EXIT.ok,
  pending: EXIT.pending,
  not_payable: EXIT.notPayable,
};

function describeResult(r: PaymentResult): string {
  switch (r.status) {
    case 'credited':
    case 'already_credited':
      return `${r.status} ${r.paymentIntentId}: ${r.amountMinor} ${r.currency} (minor units) to account ${r.accountId}, ledger entry ${r.ledgerEntryId} at ${r.creditedAt}`;
    case 'pending':
      return `pending ${r.paymentIntentId}: stage ${r.stage}${r.reason ? `, waiting for an operator (${r.reason})` : ''}; poll ${r.pollUrl} or run again with --wait`;
    case 'not_payable':
      return `not_payable ${r.paymentIntentId}: the PaymentIntent is ${r.paymentIntentStatus}; nothing was credited`;
  }
}

export const confirmCommand: CommandGroup = {
  name: 'confirm',
  synopsis: ['confirm pi_… [--wait [MS]] [--json]                     confirm a payment through the HTTP API'],
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(withOptionalValue(argv, 'wait', DEFAULT_WAIT_MS), {
      wait: { type: 'string' },
      json: { type: 'boolean' },
      'api-url': { type: 'string' },
      'api-key': { type: 'string' },
    });
    if (values.help) return io.stdout(usage), EXIT.ok;
    const paymentIntentId = onePositional(positionals, 'PaymentIntent id (pi_…)', PAYMENT_INTENT_ID);
    const waitMs = millisecondsOption('wait', values.wait, 0);
    const client = apiClientFrom(values, io, 'the account that owns the payment');
    const result: PaymentResult = await viaApi(() => client.confirmPayment(paymentIntentId, { wait: waitMs, timeoutMs: waitMs + CALL_MARGIN_MS }), values.json === true);
    io.stdout(values.json ? jsonText(result) : `${describeResult(result)}\n`);
    return EXIT_BY_STATUS[result.status];
  },
};

