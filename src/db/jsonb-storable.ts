/**
 * What Postgres `jsonb` cannot hold, decided before the insert. A JSON text is valid and still refused by `jsonb` when
 * one of its strings (a value or a key) holds U+0000 (`\u0000`: "unsupported Unicode escape sequence") or an unpaired
 * UTF-16 surrogate (`\ud800` alone: "invalid input syntax"). `text` cannot hold U+0000 either, but the JSON *text* can:
 * there `\u0000` is six ASCII characters. So a value `jsonb` refuses is kept as its JSON text, escapes and all, and
 * `jsonb` gets a stand-in where each such string has those characters replaced by U+FFFD (queryable, never used as the
 * value).
 */

/**
 * U+0000, or a surrogate that is not half of a pair: in a `u` regex a well-formed pair is one code point above U+FFFF,
 * so the surrogate range matches only the unpaired ones.
 */
const UNSTORABLE = /[\u0000\ud800-\udfff]/u;
const UNSTORABLE_ALL = /[\u0000\ud800-\udfff]/gu;

const stringFits = (s: string): boolean => !UNSTORABLE.test(s);

/** True when every string (values and keys) of a parsed JSON value can be stored in `jsonb`. */
export function jsonbCanHold(value: unknown): boolean {
  if (typeof value === 'string') return stringFits(value);
  if (Array.isArray(value)) return value.every(jsonbCanHold);
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).every(([k, v]) => stringFits(k) && jsonbCanHold(v));
  }
  return true;
}

/** The value with every U+0000 and unpaired surrogate replaced by U+FFFD: what `jsonb` holds in its place. */
export function jsonbStandIn(value: unknown): unknown {
  const clean = (s: string) => s.replace(UNSTORABLE_ALL, '\ufffd');
  if (typeof value === 'string') return clean(value);
  if (Array.isArray(value)) return value.map(jsonbStandIn);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [clean(k), jsonbStandIn(v)]));
  }
  return value;
}

/**
 * How a JSON text (valid, already parsed once by the caller) is stored: `jsonb` the text itself when it fits, with no
 * exact copy; otherwise the stand-in for `jsonb` and the text, exactly, for the `text` column beside it.
 */
export function jsonbColumns(jsonText: string): { jsonb: string; exact: string | null } {
  const value: unknown = JSON.parse(jsonText);
  if (jsonbCanHold(value)) return { jsonb: jsonText, exact: null };
  return { jsonb: JSON.stringify(jsonbStandIn(value)), exact: jsonText };
}

/** The stored value: the exact text when there is one, else what `jsonb` gave back. */
export const storedJson = (jsonb: unknown, exact: string | null): unknown => (exact === null ? jsonb : JSON.parse(exact));
