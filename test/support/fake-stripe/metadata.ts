/**
 * Stripe metadata semantics: a `metadata` hash is merged into the existing
 * one, a key sent with an empty value is deleted, and `metadata=` (empty
 * string for the whole hash) clears everything.
 *
 * Limits (https://docs.stripe.com/metadata): 50 keys (counted on the merged
 * result too), keys up to 40 characters, values up to 500; breaking one is a
 * 400 `invalid_request_error` with param `metadata`.
 */
import type { FormObject, FormValue } from './form-body.js';
import { invalidRequest, type ApiError } from './stripe-errors.js';
import type { Metadata } from './stripe-objects.js';

export type MetadataUpdate =
  | { readonly kind: 'clear' }
  | { readonly kind: 'merge'; readonly entries: Readonly<Record<string, string>> };

const MAX_KEYS = 50;
const MAX_KEY_LENGTH = 40;
const MAX_VALUE_LENGTH = 500;

/** Validates the raw `metadata` parameter (throws a 400 `ApiError`). */
export function readMetadataParam(value: FormValue | undefined, param = 'metadata'): MetadataUpdate | undefined {
  if (value === undefined) return undefined;
  if (value === '') return { kind: 'clear' };
  if (typeof value === 'string' || Array.isArray(value)) {
    throw invalidRequest('Invalid object', { param, code: 'parameter_invalid_object' });
  }
  const entries: Record<string, string> = {};
  for (const [key, entry] of Object.entries(value)) {
    entries[key] = readMetadataEntry(param, key, entry);
  }
  if (Object.values(entries).filter((entry) => entry !== '').length > MAX_KEYS) throw tooManyKeys(param);
  return { kind: 'merge', entries };
}

function readMetadataEntry(hashParam: string, key: string, value: FormValue): string {
  const param = `${hashParam}[${key}]`;
  if (typeof value !== 'string') throw invalidRequest('Invalid string', { param });
  if (key.length > MAX_KEY_LENGTH) {
    throw invalidRequest(`Invalid key: ${key} must be a string of at most ${MAX_KEY_LENGTH} characters`, { param: hashParam });
  }
  if (value.length > MAX_VALUE_LENGTH) {
    throw invalidRequest(`Invalid val: ${value} must be a string of at most ${MAX_VALUE_LENGTH} characters`, { param: hashParam });
  }
  return value;
}

/** Throws the 400 when the merged result has more keys than Stripe allows. */
export function applyMetadata(current: Metadata, update: MetadataUpdate | undefined): Metadata {
  if (update === undefined) return { ...current };
  if (update.kind === 'clear') return {};
  const next: Metadata = { ...current };
  for (const [key, value] of Object.entries(update.entries)) {
    if (value === '') delete next[key];
    else next[key] = value;
  }
  if (Object.keys(next).length > MAX_KEYS) throw tooManyKeys();
  return next;
}

function tooManyKeys(param = 'metadata'): ApiError {
  return invalidRequest(`You can specify up to ${MAX_KEYS} keys in metadata.`, { param });
}

/** Metadata of an object being created from request parameters. */
export function initialMetadata(params: FormObject): Metadata {
  return applyMetadata({}, readMetadataParam(params['metadata']));
}
