/** Money is an integer count of the currency's minor unit (cents for usd, yen for jpy) plus an ISO currency code. */
export interface Money {
  amountMinor: number;
  /** Lower-case ISO 4217, as Stripe writes it ("usd"). */
  currency: string;
}

/** ISO 4217 codes the runtime knows, lower-case as Stripe writes them. */
const ISO_CURRENCIES: ReadonlySet<string> = new Set(Intl.supportedValuesOf('currency').map((c) => c.toLowerCase()));

/** A lower-case ISO 4217 code (`usd`, `eur`, `jpy`): what payconfirm accepts from callers and operators. */
export const isCurrencyCode = (v: unknown): v is string => typeof v === 'string' && /^[a-z]{3}$/.test(v) && ISO_CURRENCIES.has(v);

