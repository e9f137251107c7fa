/**
 * The API's snake_case wire format, and the one place it is validated and mapped to the
 * public camelCase types. Validation is minimal: the fields the client exposes must be present
 * with the right JSON type, and payment statuses must be known.
 */
import { PayconfirmApiError, PayconfirmAuthenticationError, PayconfirmError, PayconfirmPermissionError } from './errors.js';
import type { HttpAnswer } from './http-transport.js';
import { isRetryableStatus } from './retry-policy.js';
import type {
  Balance,
  CreditedPayment,
  Debit,
  Refund,
  LedgerEntry,
  LedgerPage,
  NotPayablePayment,
  PaymentResult,
  PendingPayment,
} from './types.js';

export interface ConfirmPaymentRequestWire {
  payment_intent_id: string;
}

export interface CreditedPaymentWire {
  status: 'credited' | 'already_credited';
  payment_intent_id: string;
  account_id: string;
  ledger_entry_id: string;
  amount_minor: number;
  currency: string;
  credited_at: string;
}

export interface PendingPaymentWire {
  status: 'pending';
  payment_intent_id: string;
  stage: string;
  reason: string | null;
  poll_url: string;
}

export interface NotPayablePaymentWire {
  status: 'not_payable';
  payment_intent_id: string;
  payment_intent_status: string;
}

export type PaymentWire = CreditedPaymentWire | PendingPaymentWire | NotPayablePaymentWire;

export interface ErrorBodyWire {
  error: { code: string; message: string; request_id: string };
  /** 403 `insufficient_scope`: the scope the request needs. */
  required_scope?: string;
}

export interface DebitWire {
  debit: { id: string; amount_minor: number; currency: string; reference: string | null; created_at: string };
  balance: CurrencyBalanceWire;
}

export interface RefundWire {
  refund: { id: string; payment_intent_id: string; amount_minor: number; currency: string; status: string };
}

export interface RefundRequestWire {
  payment_intent_id: string;
  amount_minor?: number;
}

export interface DebitRequestWire {
  amount_minor: number;
  currency: string;
  reference?: string;
  metadata?: Record<string, string>;
}

export interface BalanceWire {
  account_id: string;
  balances: (CurrencyBalanceWire & { held_minor: number; available_minor: number })[];
}

export interface CurrencyBalanceWire {
  currency: string;
  amount_minor: number;
}

export interface LedgerPageWire {
  entries: LedgerEntryWire[];
  next_cursor: string | null;
}

export interface LedgerEntryWire {
  id: string;
  kind: string;
  amount_minor: number;
  currency: string;
  payment_intent_id: string | null;
  reference: string | null;
  created_at: string;
}

const PAYMENT_STATUSES: readonly PaymentWire['status'][] = [
  'credited',
  'already_credited',
  'pending',
  'not_payable',
];

/**
 * Throws the typed `PayconfirmApiError` for an HTTP error answer (`PayconfirmAuthenticationError` for a 401,
 * `PayconfirmPermissionError` for a 403). A 409 carrying
 * `status: "not_payable"` is a business outcome, not an error, and passes through.
 */
export function throwIfErrorAnswer(answer: HttpAnswer): void {
  if (answer.httpStatus < 400 || isNotPayableAnswer(answer)) return;
  // Read leniently: a proxy's 502 page is still a (retryable) API error, not a malformed response.
  const error: Partial<Record<keyof ErrorBodyWire['error'], unknown>> | null = asRecord(
    asRecord(answer.body)?.['error'],
  );
  const message = stringOrNull(error?.message) ?? `HTTP ${answer.httpStatus}`;
  const details = {
    code: stringOrNull(error?.code) ?? `http_${answer.httpStatus}`,
    httpStatus: answer.httpStatus,
    requestId: answer.requestId ?? stringOrNull(error?.request_id),
    // 409 request_in_progress: the same Idempotency-Key is still running on the server; retrying it is safe.
    retryable: isRetryableStatus(answer.httpStatus) || (answer.httpStatus === 409 && error?.code === 'request_in_progress'),
    retryAfterMs: answer.retryAfterMs,
  };
  if (answer.httpStatus === 401) throw new PayconfirmAuthenticationError(message, details);
  if (answer.httpStatus === 403) {
    throw new PayconfirmPermissionError(message, { ...details, requiredScope: stringOrNull(asRecord(answer.body)?.['required_scope' satisfies keyof ErrorBodyWire]) });
  }
  throw new PayconfirmApiError(message, details);
}

function isNotPayableAnswer(answer: HttpAnswer): boolean {
  return answer.httpStatus === 409 && asRecord(answer.body)?.['status'] === 'not_payable';
}

export function decodePaymentResult(answer: HttpAnswer): PaymentResult {
  const status = WireReader.ofBody<PaymentWire>(answer).oneOf('status', PAYMENT_STATUSES);
  switch (status) {
    case 'credited':
    case 'already_credited':
      return toCreditedPayment(status, WireReader.ofBody<CreditedPaymentWire>(answer));
    case 'pending':
      return toPendingPayment(WireReader.ofBody<PendingPaymentWire>(answer), answer.retryAfterMs);
    case 'not_payable':
      return toNotPayablePayment(WireReader.ofBody<NotPayablePaymentWire>(answer));
  }
}

function toCreditedPayment(
  status: CreditedPayment['status'],
  wire: WireReader<CreditedPaymentWire>,
): CreditedPayment {
  return {
    status,
    paymentIntentId: wire.string('payment_intent_id'),
    accountId: wire.string('account_id'),
    ledgerEntryId: wire.string('ledger_entry_id'),
    amountMinor: wire.number('amount_minor'),
    currency: wire.string('currency'),
    creditedAt: wire.string('credited_at'),
  };
}

function toPendingPayment(wire: WireReader<PendingPaymentWire>, retryAfterMs: number | null): PendingPayment {
  return {
    status: 'pending',
    paymentIntentId: wire.string('payment_intent_id'),
    stage: wire.string('stage'),
    reason: wire.nullableString('reason'),
    pollUrl: wire.string('poll_url'),
    retryAfterMs,
  };
}

function toNotPayablePayment(wire: WireReader<NotPayablePaymentWire>): NotPayablePayment {
  return {
    status: 'not_payable',
    paymentIntentId: wire.string('payment_intent_id'),
    paymentIntentStatus: wire.string('payment_intent_status'),
  };
}

export function decodeDebit(answer: HttpAnswer): Debit {
  const wire = WireReader.ofBody<DebitWire>(answer);
  const debit = wire.object('debit');
  const balance = wire.object('balance');
  return {
    id: debit.string('id'),
    amountMinor: debit.number('amount_minor'),
    currency: debit.string('currency'),
    reference: debit.nullableString('reference'),
    createdAt: debit.string('created_at'),
    balanceAfter: { currency: balance.string('currency'), amountMinor: balance.number('amount_minor') },
  };
}

export function decodeRefund(answer: HttpAnswer): Refund {
  const refund = WireReader.ofBody<RefundWire>(answer).object('refund');
  return {
    id: refund.string('id'),
    paymentIntentId: refund.string('payment_intent_id'),
    amountMinor: refund.number('amount_minor'),
    currency: refund.string('currency'),
    status: refund.string('status'),
  };
}

export function decodeBalance(answer: HttpAnswer): Balance {
  const wire = WireReader.ofBody<BalanceWire>(answer);
  return {
    accountId: wire.string('account_id'),
    balances: wire.list('balances').map((balance) => ({
      currency: balance.string('currency'),
      amountMinor: balance.number('amount_minor'),
      heldMinor: balance.number('held_minor'),
      availableMinor: balance.number('available_minor'),
    })),
  };
}

export function decodeLedgerPage(answer: HttpAnswer): LedgerPage {
  const wire = WireReader.ofBody<LedgerPageWire>(answer);
  return {
    entries: wire.list('entries').map(toLedgerEntry),
    nextCursor: wire.nullableString('next_cursor'),
  };
}

function toLedgerEntry(wire: WireReader<LedgerEntryWire>): LedgerEntry {
  return {
    id: wire.string('id'),
    kind: wire.string('kind'),
    amountMinor: wire.number('amount_minor'),
    currency: wire.string('currency'),
    paymentIntentId: wire.nullableString('payment_intent_id'),
    reference: wire.nullableString('reference'),
    createdAt: wire.string('created_at'),
  };
}

/** Keys of `W` whose type is exactly `V`. */
type KeysOfType<W, V> = {
  [K in keyof W]-?: [W[K]] extends [V] ? ([V] extends [W[K]] ? K : never) : never;
}[keyof W] &
  string;

type ArrayKeys<W> = { [K in keyof W]-?: W[K] extends readonly unknown[] ? K : never }[keyof W] & string;

type ElementOf<T> = T extends readonly (infer E)[] ? E : never;

/**
 * Typed, checked access to one JSON object of wire type `W`: each getter verifies the field's
 * JSON type and throws a `PayconfirmError` with code `unexpected_response` when it does not match.
 */
class WireReader<W> {
  private constructor(
    private readonly fields: Record<string, unknown>,
    private readonly answer: HttpAnswer,
    private readonly location: string,
  ) {}

  static ofBody<W>(answer: HttpAnswer): WireReader<W> {
    return WireReader.of<W>(answer.body, answer, 'body');
  }

  private static of<W>(value: unknown, answer: HttpAnswer, location: string): WireReader<W> {
    const fields = asRecord(value);
    if (!fields) throw unexpectedResponse(answer, `${location} is not a JSON object`);
    return new WireReader<W>(fields, answer, location);
  }

  string(key: KeysOfType<W, string>): string {
    return this.checked(key, 'a string', (value) => typeof value === 'string');
  }

  nullableString(key: KeysOfType<W, string | null>): string | null {
    return this.checked(key, 'a string or null', (value) => value === null || typeof value === 'string');
  }

  number(key: KeysOfType<W, number>): number {
    return this.checked(key, 'a number', (value) => typeof value === 'number' && Number.isFinite(value));
  }

  oneOf<K extends keyof W & string>(key: K, allowed: readonly W[K][]): W[K] {
    return this.checked(key, `one of ${allowed.join(', ')}`, (value) => allowed.includes(value as W[K]));
  }

  object<K extends keyof W & string>(key: K): WireReader<W[K]> {
    return WireReader.of<W[K]>(this.fields[key], this.answer, `${this.location}.${key}`);
  }

  list<K extends ArrayKeys<W>>(key: K): WireReader<ElementOf<W[K]>>[] {
    const items: unknown[] = this.checked(key, 'an array', Array.isArray);
    return items.map((item, index) =>
      WireReader.of<ElementOf<W[K]>>(item, this.answer, `${this.location}.${key}[${index}]`),
    );
  }

  private checked<T>(key: string, expected: string, isExpected: (value: unknown) => boolean): T {
    const value = this.fields[key];
    if (!isExpected(value)) {
      throw unexpectedResponse(
        this.answer,
        `${this.location}.${key} should be ${expected}, got ${JSON.stringify(value) ?? 'nothing'}`,
      );
    }
    return value as T;
  }
}

function unexpectedResponse(answer: HttpAnswer, detail: string): PayconfirmError {
  return new PayconfirmError(`Unexpected response (HTTP ${answer.httpStatus}): ${detail}`, {
    code: 'unexpected_response',
    httpStatus: answer.httpStatus,
    requestId: answer.requestId,
  });
}

function asRecord(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}
