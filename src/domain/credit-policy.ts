/**
 * Which PaymentIntents are credit purchases, and whether the Stripe customer balance mirrors the ledger.
 * Set once per deployment (CREDIT_PAYMENT_INTENTS, STRIPE_BALANCE_MIRROR). Workflow-safe (pure).
 */

/** `tagged`: only PaymentIntents whose metadata has `payconfirm` = `credit`; `all`: every PaymentIntent of the account. */
export type CreditPaymentIntents = 'tagged' | 'all';
/** `on`: one Stripe customer balance transaction per ledger movement; `off`: none at all. */
export type BalanceMirror = 'on' | 'off';

export interface MoneyPolicy {
  creditPaymentIntents: CreditPaymentIntents;
  balanceMirror: BalanceMirror;
}

export const DEFAULT_MONEY_POLICY: MoneyPolicy = { creditPaymentIntents: 'tagged', balanceMirror: 'on' };

/** The metadata a checkout sets (`payment_intent_data.metadata`) to mark a PaymentIntent as a credit purchase. */
export const CREDIT_TAG_KEY = 'payconfirm';
export const CREDIT_TAG_VALUE = 'credit';

/** Prefix of every metadata key payconfirm writes; only these are trusted as payconfirm's own. */
export const OWN_METADATA_PREFIX = 'payconfirm_';

export type Eligibility = { eligible: true } | { eligible: false; why: string };

/** Whether a PaymentIntent is a credit purchase under the policy. */
export function creditEligibility(metadata: Readonly<Record<string, string>>, policy: MoneyPolicy): Eligibility {
  if (policy.creditPaymentIntents === 'all') return { eligible: true };
  return metadata[CREDIT_TAG_KEY] === CREDIT_TAG_VALUE
    ? { eligible: true }
    : { eligible: false, why: `the PaymentIntent's metadata lacks ${CREDIT_TAG_KEY}=${CREDIT_TAG_VALUE} (CREDIT_PAYMENT_INTENTS=tagged)` };
}
