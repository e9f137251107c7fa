/**
 * Stripe's `expand[]` for top-level id fields (`latest_charge`, `customer`…)
 * and `data.<field>` on list endpoints. Deeper paths are not modelled.
 *
 * `objectExpansion` / `listExpansion` validate the requested paths (a 400 for
 * anything not expandable) and return the function applied to the result.
 */
import type { FormObject } from './form-body.js';
import { expandPaths } from './params.js';
import { invalidRequest } from './stripe-errors.js';
import type { ListObject } from './stripe-objects.js';

/** Field name -> lookup of the object an id in that field refers to. */
export type Expanders = Readonly<Record<string, (id: string) => object | undefined>>;

export function objectExpansion(params: FormObject, expanders: Expanders): <T extends object>(value: T) => T {
  const fields = expandPaths(params).map((path) => expandableField(path, path, expanders));
  return (value) => expandFields(value, fields, expanders);
}

export function listExpansion(params: FormObject, expanders: Expanders): <T extends object>(list: ListObject<T>) => ListObject<T> {
  const fields = expandPaths(params).map((path) =>
    expandableField(path, path.startsWith('data.') ? path.slice('data.'.length) : undefined, expanders));
  return (list) => ({ ...list, data: list.data.map((item) => expandFields(item, fields, expanders)) });
}

function expandableField(path: string, field: string | undefined, expanders: Expanders): string {
  if (field === undefined || !Object.hasOwn(expanders, field)) {
    throw invalidRequest(`This property cannot be expanded (${path}).`, { param: 'expand' });
  }
  return field;
}

function expandFields<T extends object>(value: T, fields: readonly string[], expanders: Expanders): T {
  if (fields.length === 0) return value;
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const field of fields) {
    const id = copy[field];
    const lookup = expanders[field];
    if (typeof id === 'string' && lookup !== undefined) copy[field] = lookup(id) ?? id;
  }
  return copy as T;
}
