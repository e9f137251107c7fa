/** Shapes of Stripe object ids payconfirm accepts from callers. Workflow-safe (pure). */
export const PAYMENT_INTENT_ID = /^pi_[A-Za-z0-9_]{1,250}$/;
export const CUSTOMER_ID = /^cus_[A-Za-z0-9]{1,250}$/;
export const EVENT_ID = /^evt_[A-Za-z0-9_]{1,250}$/;
export const SUBSCRIPTION_ID = /^sub_[A-Za-z0-9_]{1,250}$/;

export const isSubscriptionId = (v: unknown): v is string => typeof v === 'string' && SUBSCRIPTION_ID.test(v);
