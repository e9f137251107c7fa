/**
 * Exit codes of `payconfirm` (docs/client-and-cli.md, "CLI"), and the errors commands throw to end with one of them.
 *   0  done: credited / already_credited, rejected as asked, ledger ok, …
 *   1  usage, configuration, network or unexpected error; `ledger verify` found a violation
 *   2  pending: the payment is not settled yet (or waits for an operator again)
 *   3  not_payable: the PaymentIntent cannot be credited
 *   4  refused: the API or the workflow said no (4xx/5xx API error, rejected payment, update refused, …)
 */
export const EXIT = { ok: 0, failure: 1, pending: 2, notPayable: 3, refused: 4 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The command line is wrong: the message and a pointer to the usage text go to stderr, exit 1. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A command's own failure: `message` goes to stderr, `json` (with --json) to stdout, then exit `exitCode`. */
export class CliFailure extends Error {
  override readonly name = 'CliFailure';
  constructor(message: string, readonly exitCode: ExitCode, readonly json?: unknown) {
    super(message);
  }
}
