/**
 * Stripe metadata semantics: a `metadata` hash is merged into the existing
 * one, a key sent with an empty value is deleted, and `metadata=` (empty
 * string for the whole hash) clears everything.
 */
import type { FormObject, FormValue } from './form-body.js';
import { invalidRequest } from './stripe-errors.js';
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
    entries[key] = readMetadataEntry(`${param}[${key}]`, key, entry);
  }
  if (Object.values(entries).filter((entry) => entry !== '').length > MAX_KEYS) {
    throw invalidRequest(`You can specify up to ${MAX_KEYS} keys in metadata.`, { param });
  }
  return { kind: 'merge', entries };
}

function readMetadataEntry(param: string, key: string, value: FormValue): string {
  if (typeof value !== 'string') throw invalidRequest('Invalid string', { param });
  if (key.length > MAX_KEY_LENGTH) {
    throw invalidRequest(`Metadata keys can have a maximum length of ${MAX_KEY_LENGTH} characters.`, { param });
  }
  if (value.length > MAX_VALUE_LENGTH) {
    throw invalidRequest(`Metadata values can have a maximum length of ${MAX_VALUE_LENGTH} characters.`, { param });
  }
  return value;
}

export function applyMetadata(current: Metadata, update: MetadataUpdate | undefined): Metadata {
  if (update === undefined) return { ...current };
  if (update.kind === 'clear') return {};
  const next: Metadata = { ...current };
  for (const [key, value] of Object.entries(update.entries)) {
    if (value === '') delete next[key];
    else next[key] = value;
  }
  return next;
}

/** Metadata of an object being created from request parameters. */
export function initialMetadata(params: FormObject): Metadata {
  return applyMetadata({}, readMetadataParam(params['metadata']));
}
