import type { PaymentState } from '../src/domain/payment.js';
import { availableActions, OPERATOR_HINTS, type OperatorActionName } from './operator-actions.js';

const ACTION_HELP: Record<OperatorActionName, string> = {
  retry: '- `retry` — run the failed step again once its cause is fixed',
  resolve: '- `resolve` `{"accountId": "…", "note": "…"}` — credit this account',
  reject: '- `reject` `{"reason": "…"}` — end without crediting (lasts: every later event and confirm finds it)',
  skipMirror: '- `skipMirror` `{"reason": "…"}` — leave the Stripe customer balance alone for this payment; the ledger goes on',
};

/**
 * The "current details" the Temporal UI shows for a payment: where it is, why it waits, what an operator can
 * do. The reason comes first (the UI's panel has a fixed height) and every line is its own paragraph or list
 * item (the UI's markdown joins single newlines).
 */
export function describePaymentState(s: PaymentState): string {
  const facts = [
    `- **PaymentIntent:** ${s.paymentIntentId}`,
    `- **Customer:** ${s.customerId ?? '—'} · **Account:** ${s.accountId ?? '—'}`,
    `- **Amount:** ${s.amountMinor ?? '—'} ${s.currency ?? ''}`.trimEnd(),
    `- **Ledger entry:** ${s.ledgerEntryId ?? '—'}`,
    `- **Net in the ledger:** ${s.netMinor ?? '—'}`,
  ];
  const blocks = [`**Stage:** ${s.stage}`];
  if (s.attention) {
    blocks.push(
      `**Needs attention:** ${s.attention.reason} (at ${s.attention.failedStage}, since ${s.attention.since})`,
      `> ${s.attention.detail}`,
      OPERATOR_HINTS[s.attention.reason],
      [
        'Operator actions (Temporal UI → Send an Update, `temporal workflow update execute`, or `payconfirm payments …`):',
        availableActions(s).map((action) => ACTION_HELP[action]).join('\n'),
      ].join('\n\n'),
    );
  }
  blocks.push(facts.join('\n'));
  return blocks.join('\n\n');
}
