/**
 * Typed readers for form-encoded request parameters. Every reader throws a
 * 400 `invalid_request_error` shaped like Stripe's validation errors; the
 * server never stores those under an idempotency key.
 */
import { formList, type FormObject, type FormValue } from './form-body.js';
import { parameterInvalid, parameterMissing, parameterUnknown } from './stripe-errors.js';

/** `expand` is accepted by every endpoint. */
const UNIVERSAL_PARAMS = ['expand'];

export function rejectUnknownParams(params: FormObject, allowed: readonly string[]): void {
  const unknown = Object.keys(params).find((name) => !allowed.includes(name) && !UNIVERSAL_PARAMS.includes(name));
  if (unknown !== undefined) throw parameterUnknown(unknown);
}

export function optionalString(params: FormObject, name: string): string | undefined {
  const value = params[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw parameterInvalid(name, `Invalid string: ${describe(value)}`);
  return value;
}

export function requiredString(params: FormObject, name: string): string {
  const value = optionalString(params, name);
  if (value === undefined || value === '') throw parameterMissing(name);
  return value;
}

export interface IntegerBounds {
  min?: number;
}

export function optionalInteger(params: FormObject, name: string, bounds: IntegerBounds = {}): number | undefined {
  const text = optionalString(params, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(value)) {
    throw parameterInvalid(name, `Invalid integer: ${text}`, 'parameter_invalid_integer');
  }
  if (bounds.min !== undefined && value < bounds.min) {
    throw parameterInvalid(name, `This value must be greater than or equal to ${bounds.min}.`, 'parameter_invalid_integer');
  }
  return value;
}

export function requiredInteger(params: FormObject, name: string, bounds: IntegerBounds = {}): number {
  const value = optionalInteger(params, name, bounds);
  if (value === undefined) throw parameterMissing(name);
  return value;
}

export function requiredCurrency(params: FormObject, name = 'currency'): string {
  const text = requiredString(params, name);
  if (!/^[a-z]{3}$/i.test(text)) throw parameterInvalid(name, `Invalid currency: ${text}`);
  return text.toLowerCase();
}

export function optionalBoolean(params: FormObject, name: string): boolean | undefined {
  const text = optionalString(params, name);
  if (text === undefined) return undefined;
  if (text !== 'true' && text !== 'false') throw parameterInvalid(name, `Invalid boolean: ${text}`);
  return text === 'true';
}

/** `expand[]=a&expand[]=b` (or `expand[0]=a`) -> ['a', 'b']. */
export function expandPaths(params: FormObject): string[] {
  return formList(params['expand']).map((path) => {
    if (typeof path !== 'string') throw parameterInvalid('expand', `Invalid string: ${describe(path)}`);
    return path;
  });
}

function describe(value: FormValue): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
