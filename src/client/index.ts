export { PayconfirmClient } from './payconfirm-client.js';
export {
  PayconfirmAbortError,
  PayconfirmApiError,
  PayconfirmError,
  PayconfirmNetworkError,
  PayconfirmTimeoutError,
  type PayconfirmErrorDetails,
} from './errors.js';
export type {
  Balance,
  ConfirmPaymentOptions,
  CreditedPayment,
  CurrencyBalance,
  Debit,
  DebitInput,
  LedgerEntry,
  LedgerEntryKind,
  LedgerPage,
  LedgerQuery,
  NotPayablePayment,
  PayconfirmClientOptions,
  PaymentResult,
  PendingPayment,
  Refund,
  RefundInput,
  RequestOptions,
} from './types.js';
