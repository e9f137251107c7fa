/**
 * Turns a Stripe request into a bounded metrics label: `POST /v1/customers/:id/balance_transactions`.
 * Query strings are dropped and every path segment that is not a known fixed word becomes `:id`, so a
 * caller-supplied id (even a malformed one) can never mint a new label.
 */
const FIXED_WORDS_WITH_UNDERSCORE = new Set([
  'payment_intents',
  'setup_intents',
  'payment_methods',
  'payment_links',
  'balance_transactions',
  'cash_balance',
  'funding_instructions',
  'application_fees',
  'credit_notes',
  'promotion_codes',
  'shipping_rates',
  'tax_ids',
  'tax_rates',
  'subscription_items',
  'subscription_schedules',
  'usage_records',
  'test_helpers',
  'billing_portal',
  'payment_method_configurations',
  'customer_sessions',
  'ephemeral_keys',
]);

/** Lowercase words without `_` (customers, refunds, search, confirm, …) or a listed `snake_case` word. */
const isFixedWord = (segment: string): boolean =>
  /^[a-z]+$/.test(segment) || /^v\d+$/.test(segment) || FIXED_WORDS_WITH_UNDERSCORE.has(segment);

export function stripeEndpoint(method: string, path: string): string {
  const pathOnly = path.split('?', 1)[0] ?? '';
  const segments = pathOnly
    .split('/')
    .filter(Boolean)
    .map((segment) => (isFixedWord(segment) ? segment : ':id'));
  return `${method.toUpperCase()} /${segments.join('/')}`;
}
