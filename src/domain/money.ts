/** Money is an integer count of the currency's minor unit (cents for usd, yen for jpy) plus an ISO currency code. */
export interface Money {
  amountMinor: number;
  /** Lower-case ISO 4217, as Stripe writes it ("usd"). */
  currency: string;
}

export const isCurrencyCode = (v: unknown): v is string => typeof v === 'string' && /^[a-z]{3}$/.test(v);

export const isMinorAmount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
