/**
 * Parser for Stripe's `application/x-www-form-urlencoded` dialect, used for
 * POST bodies and GET query strings alike:
 *
 *   metadata[credited]=true   -> { metadata: { credited: 'true' } }
 *   expand[]=a&expand[]=b     -> { expand: ['a', 'b'] }
 *   a[b][c]=1                 -> { a: { b: { c: '1' } } }
 *   expand[0]=a               -> { expand: { '0': 'a' } }   (see formList)
 *
 * Indexed keys (`x[0]`) stay objects on purpose: `metadata[0]=v` is a
 * perfectly valid metadata key and must not turn into an array. Use
 * `formList` where a list is expected; it accepts both encodings (the stripe
 * SDK sends the indexed one).
 */

export type FormValue = string | FormValue[] | FormObject;
export interface FormObject {
  [key: string]: FormValue;
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export function parseFormBody(raw: string): FormObject {
  const root: FormObject = {};
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const separator = pair.indexOf('=');
    const rawKey = separator === -1 ? pair : pair.slice(0, separator);
    const rawValue = separator === -1 ? '' : pair.slice(separator + 1);
    const path = parseKeyPath(decodeComponent(rawKey));
    if (path.length === 0 || path.some((segment) => FORBIDDEN_KEYS.has(segment))) continue;
    assignPath(root, path, decodeComponent(rawValue));
  }
  return root;
}

/** Reads a list parameter sent as `x[]=a`, `x[0]=a` or a single `x=a`. */
export function formList(value: FormValue | undefined): FormValue[] {
  if (value === undefined) return [];
  if (typeof value === 'string' || Array.isArray(value)) return [value].flat();
  return Object.keys(value)
    .filter((key) => /^\d+$/.test(key))
    .sort((a, b) => Number(a) - Number(b))
    .map((key) => value[key] as FormValue);
}

function decodeComponent(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/** `a[b][]` -> ['a', 'b', ''] (an empty segment means "append"). */
function parseKeyPath(key: string): string[] {
  const open = key.indexOf('[');
  if (open <= 0) return key === '' ? [] : [key];
  const segments = [key.slice(0, open)];
  const bracketed = /\[([^\]]*)\]/g;
  for (let match = bracketed.exec(key); match !== null; match = bracketed.exec(key)) {
    segments.push(match[1] ?? '');
  }
  return segments;
}

type Container = FormObject | FormValue[];

function assignPath(root: FormObject, path: readonly string[], value: string): void {
  let container: Container = root;
  path.forEach((segment, index) => {
    const isLast = index === path.length - 1;
    const nextIsAppend = path[index + 1] === '';
    if (isLast) {
      writeSlot(container, segment, value);
      return;
    }
    const existing = readSlot(container, segment);
    const child: Container = nextIsAppend
      ? Array.isArray(existing) ? existing : []
      : isFormObject(existing) ? existing : {};
    if (child !== existing) writeSlot(container, segment, child);
    container = child;
  });
}

function readSlot(container: Container, segment: string): FormValue | undefined {
  if (Array.isArray(container)) return segment === '' ? undefined : container[Number(segment)];
  return Object.hasOwn(container, segment) ? container[segment] : undefined;
}

function writeSlot(container: Container, segment: string, value: FormValue): void {
  if (Array.isArray(container)) {
    container.push(value);
    return;
  }
  container[segment] = value;
}

function isFormObject(value: FormValue | undefined): value is FormObject {
  return typeof value === 'object' && !Array.isArray(value);
}
