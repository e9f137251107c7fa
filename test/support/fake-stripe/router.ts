/**
 * Minimal method + path-pattern router (`/v1/customers/:id/balance_transactions`).
 *
 * A route handler runs in two phases, mirroring how Stripe's idempotency
 * layer treats failures: `prepare` validates parameters (its errors are never
 * saved under an idempotency key) and returns the `Execution`, which touches
 * state (its errors are saved like any other result).
 */
import type { FormObject } from './form-body.js';

export type RouteMethod = 'GET' | 'POST';

export interface RouteInput {
  /** Query parameters for GET, form body for POST. */
  readonly params: FormObject;
  /** A `:name` segment of the route pattern (URL-decoded). */
  pathParam(name: string): string;
}

export type Execution = () => object;

export interface Route {
  readonly method: RouteMethod;
  readonly pattern: string;
  prepare(input: RouteInput): Execution;
}

export interface RouteMatch {
  readonly route: Route;
  readonly pathParams: Readonly<Record<string, string>>;
}

interface CompiledRoute {
  readonly route: Route;
  readonly regex: RegExp;
  readonly names: readonly string[];
}

export function route(method: RouteMethod, pattern: string, prepare: Route['prepare']): Route {
  return { method, pattern, prepare };
}

export class Router {
  private readonly compiled: readonly CompiledRoute[];

  constructor(routes: readonly Route[]) {
    this.compiled = routes.map(compile);
  }

  match(method: string, path: string): RouteMatch | undefined {
    for (const { route: candidate, regex, names } of this.compiled) {
      const found = candidate.method === method ? regex.exec(path) : null;
      if (found === null) continue;
      const pathParams = Object.fromEntries(names.map((name, i) => [name, safeDecode(found[i + 1] ?? '')]));
      return { route: candidate, pathParams };
    }
    return undefined;
  }
}

export function routeInput(match: RouteMatch, params: FormObject): RouteInput {
  return {
    params,
    pathParam: (name) => {
      const value = match.pathParams[name];
      if (value === undefined) throw new Error(`fake-stripe: route ${match.route.pattern} has no :${name} segment`);
      return value;
    },
  };
}

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const source = route.pattern
    .split('/')
    .map((segment) => {
      if (!segment.startsWith(':')) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(segment.slice(1));
      return '([^/]+)';
    })
    .join('/');
  return { route, regex: new RegExp(`^${source}/?$`), names };
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
