/** An account as the code uses it, and how it is read from a row of `accounts` (shared by accounts.ts and api-keys.ts). */
export interface Account {
  id: string;
  name: string | null;
  stripeCustomerId: string;
  /** Where e-mail receipts go (docs/notifications.md, "E-mail receipts"); null: none are sent. */
  email: string | null;
  createdAt: Date;
}

export interface AccountRow {
  id: string;
  name: string | null;
  stripe_customer_id: string;
  email: string | null;
  created_at: Date;
}

export const toAccount = (r: AccountRow): Account => ({ id: r.id, name: r.name, stripeCustomerId: r.stripe_customer_id, email: r.email, createdAt: r.created_at });

/** The columns toAccount reads, qualified by `alias` when given (`a.id, a.name, …`). */
export const accountColumns = (alias?: string): string =>
  ['id', 'name', 'stripe_customer_id', 'email', 'created_at'].map((c) => (alias ? `${alias}.${c}` : c)).join(', ');
