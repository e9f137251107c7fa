import { PAYMENT_INTENT_ID } from '../../domain/stripe-ids.js';
import { apiClientFrom, DEFAULT_API_URL, viaApi } from '../api-client.js';
import { noPositionals, onePositional, parseCommandArgs } from '../args.js';
import { EXIT, UsageError } from '../cli-errors.js';
import type { CommandGroup } from '../command.js';
import { jsonText } from '../output.js';

const API_OPTIONS = `  --key KEY       the Idempotency-Key (default: a new random one): run the command again with the same --key
                  after a timeout and the server answers what it did the first time, doing nothing twice
  --json          print the answer as JSON
  --api-url URL   the API (env PAYCONFIRM_API_URL, default ${DEFAULT_API_URL})
  --api-key KEY   the account's API key (env PAYCONFIRM_API_KEY; prefer the env: arguments show in ps)

Exit: 0 done · 4 refused by the API (e.g. 409 insufficient_balance, refund_exceeds_remaining, 422
      idempotency_key_reused) · 1 usage, configuration or network error.`;

const debitUsage = `Usage: payconfirm debit --amount MINOR --currency CUR [--reference TEXT] [--key KEY] [--json]

Spends credits of the account (POST /accounts/me/debits through the typed client), refused when the balance would
go below zero.

${API_OPTIONS}
`;

const refundUsage = `Usage: payconfirm refund pi_… [--amount MINOR] [--key KEY] [--json]

Refunds (part of) a payment credited to the account, through Stripe (POST /billing/refunds); the ledger and the
Stripe customer balance follow through the payment workflow. Default amount: all that is left to refund.

${API_OPTIONS}
`;

const API_ARGS = { key: { type: 'string' }, json: { type: 'boolean' }, 'api-url': { type: 'string' }, 'api-key': { type: 'string' } } as const;

const positiveMinor = (name: string, value: string | undefined): number => {
  if (value === undefined || !/^[1-9]\d{0,14}$/.test(value)) throw new UsageError(`--${name} takes a positive whole number of minor units`);
  return Number(value);
};

export const debitCommand: CommandGroup = {
  name: 'debit',
  synopsis: ['debit --amount MINOR --currency CUR [--key KEY]             spend credits through the HTTP API'],
  usage: debitUsage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, { ...API_ARGS, amount: { type: 'string' }, currency: { type: 'string' }, reference: { type: 'string' } });
    if (values.help) return io.stdout(debitUsage), EXIT.ok;
    noPositionals(positionals);
    const amountMinor = positiveMinor('amount', values.amount);
    if (!values.currency) throw new UsageError('--currency is required (e.g. usd)');
    const client = apiClientFrom(values, io, 'the account to debit');
    const debit = await viaApi(
      () =>
        client.debit(
          { amountMinor, currency: values.currency!, ...(values.reference ? { reference: values.reference } : {}) },
          values.key ? { idempotencyKey: values.key } : {},
        ),
      values.json === true,
    );
    io.stdout(values.json ? jsonText(debit) : `debited ${debit.amountMinor} ${debit.currency} (${debit.id}); balance now ${debit.balanceAfter.amountMinor} ${debit.balanceAfter.currency}\n`);
    return EXIT.ok;
  },
};

export const refundCommand: CommandGroup = {
  name: 'refund',
  synopsis: ['refund pi_… [--amount MINOR] [--key KEY]                 refund a credited payment through Stripe'],
  usage: refundUsage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, { ...API_ARGS, amount: { type: 'string' } });
    if (values.help) return io.stdout(refundUsage), EXIT.ok;
    const paymentIntentId = onePositional(positionals, 'PaymentIntent id (pi_…)', PAYMENT_INTENT_ID);
    const amountMinor = values.amount === undefined ? undefined : positiveMinor('amount', values.amount);
    const client = apiClientFrom(values, io, 'the account the payment was credited to');
    const refund = await viaApi(
      () => client.refund({ paymentIntentId, ...(amountMinor !== undefined ? { amountMinor } : {}) }, values.key ? { idempotencyKey: values.key } : {}),
      values.json === true,
    );
    io.stdout(values.json ? jsonText(refund) : `refund ${refund.id} of ${refund.amountMinor} ${refund.currency} for ${refund.paymentIntentId}: ${refund.status}\n`);
    return EXIT.ok;
  },
};
