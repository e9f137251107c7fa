import { randomInt } from 'node:crypto';

const ALPHANUMERIC = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Stripe-style prefixes used by the fake. */
export type IdPrefix = 'pi' | 'cus' | 'cbtxn' | 're' | 'ch' | 'dp' | 'evt' | 'txn' | 'req' | 'sub' | 'si' | 'price' | 'prod';

export function randomAlphanumeric(length: number): string {
  let out = '';
  for (let i = 0; i < length; i += 1) out += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return out;
}

/** `pi_3Nx…` style id: prefix, underscore, 24 random alphanumerics. */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${randomAlphanumeric(24)}`;
}

export function newRequestId(): string {
  return `req_${randomAlphanumeric(14)}`;
}

export function unixSeconds(ms: number = Date.now()): number {
  return Math.floor(ms / 1000);
}
