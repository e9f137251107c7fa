/**
 * Stripe cursor pagination: newest first, `limit` (default 10, 1..100),
 * `starting_after` / `ending_before` object-id cursors, `has_more`.
 */
import type { FormObject } from './form-body.js';
import { optionalInteger, optionalString } from './params.js';
import { invalidRequest, resourceMissing } from './stripe-errors.js';
import type { ListObject } from './stripe-objects.js';

export const PAGE_PARAMS = ['limit', 'starting_after', 'ending_before'] as const;

export interface PageRequest {
  readonly limit: number;
  readonly startingAfter?: string;
  readonly endingBefore?: string;
}

const DEFAULT_LIMIT = 10;
const MAX_LIMIT = 100;

/** Validation phase. */
export function readPageRequest(params: FormObject): PageRequest {
  const limit = optionalInteger(params, 'limit') ?? DEFAULT_LIMIT;
  if (limit < 1 || limit > MAX_LIMIT) {
    throw invalidRequest(`Invalid limit: must be between 1 and ${MAX_LIMIT}`, { param: 'limit' });
  }
  const startingAfter = optionalString(params, 'starting_after');
  const endingBefore = optionalString(params, 'ending_before');
  if (startingAfter !== undefined && endingBefore !== undefined) {
    throw invalidRequest('You may only specify one of these parameters: ending_before, starting_after.', { param: 'ending_before' });
  }
  return { limit, ...(startingAfter === undefined ? {} : { startingAfter }), ...(endingBefore === undefined ? {} : { endingBefore }) };
}

/**
 * Execution phase. `newestFirst` is the full filtered collection; `resource`
 * names the object type for the "No such …" error of an unknown cursor.
 */
export function paginate<T extends { id: string }>(
  newestFirst: readonly T[],
  page: PageRequest,
  url: string,
  resource: string,
): ListObject<T> {
  const { limit, startingAfter, endingBefore } = page;
  if (startingAfter !== undefined) {
    const after = newestFirst.slice(cursorIndex(newestFirst, startingAfter, 'starting_after', resource) + 1);
    return list(after.slice(0, limit), after.length > limit, url);
  }
  if (endingBefore !== undefined) {
    const before = newestFirst.slice(0, cursorIndex(newestFirst, endingBefore, 'ending_before', resource));
    return list(before.slice(Math.max(0, before.length - limit)), before.length > limit, url);
  }
  return list(newestFirst.slice(0, limit), newestFirst.length > limit, url);
}

export function list<T>(data: T[], hasMore: boolean, url: string): ListObject<T> {
  return { object: 'list', data, has_more: hasMore, url };
}

function cursorIndex(items: readonly { id: string }[], id: string, param: string, resource: string): number {
  const index = items.findIndex((item) => item.id === id);
  if (index === -1) throw resourceMissing(resource, id, param, 400);
  return index;
}
