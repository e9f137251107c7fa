import type { PaymentState } from '../src/domain/payment.js';

/** The "current details" the Temporal UI shows for a payment: where it is, why it waits, what an operator can do. */
export function describePaymentState(s: PaymentState): string {
  const lines = [
    `**Stage:** ${s.stage}`,
    `**PaymentIntent:** ${s.paymentIntentId}`,
    `**Customer:** ${s.customerId ?? '—'} · **Account:** ${s.accountId ?? '—'}`,
    `**Amount:** ${s.amountMinor ?? '—'} ${s.currency ?? ''}`.trimEnd(),
    `**Ledger entry:** ${s.ledgerEntryId ?? '—'}`,
  ];
  if (s.attention) {
    lines.push(
      '',
      `**Needs attention:** ${s.attention.reason} (at ${s.attention.failedStage}, since ${s.attention.since})`,
      `> ${s.attention.detail}`,
      '',
      'Operator actions (Temporal UI → Update, `temporal workflow update execute`, or `payconfirm payments …`):',
      '- `retry` — run the failed step again once its cause is fixed',
      '- `resolve` `{"accountId": "…"}` — credit this account',
      '- `reject` `{"reason": "…"}` — end without crediting (only before the ledger credit)',
    );
  }
  return lines.join('\n');
}
