/**
 * An e-mail address payconfirm sends receipts to: one mailbox, `local@domain`, no display name, no spaces or
 * separators (what the accounts table's CHECK accepts).
 */
export const isAccountEmail = (v: string): boolean =>
  v.length <= 254 && /^[^@\s<>()",;:\\]+@[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(v);
