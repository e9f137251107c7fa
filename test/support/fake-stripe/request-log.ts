/**
 * Every request the fake received, in arrival order. Entries are live: the
 * `status` of a held request stays `null` until it is answered (and forever
 * when the response was lost or the client gave up).
 */
import type { FaultKind } from './fault-injector.js';
import type { FormObject } from './form-body.js';
import { matchesPath, type PathPattern } from './path-pattern.js';

export interface RequestLogEntry {
  /** Arrival time, ms since the epoch. */
  at: number;
  method: string;
  path: string;
  query: FormObject;
  idempotencyKey?: string;
  /** Status sent to the client; `null` while unanswered or when nothing was sent. */
  status: number | null;
  /** Answered from the idempotency store. */
  replayed: boolean;
  /** Kind of the fault rule that matched this request. */
  fault?: FaultKind;
  /** Parsed form body (POST). */
  body?: FormObject;
  /** `Request-Id` header of the response sent. */
  requestId?: string;
}

export interface LoggedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: FormObject;
  readonly body: FormObject;
  readonly idempotencyKey: string | undefined;
}

export class RequestLog {
  readonly entries: RequestLogEntry[] = [];

  record(request: LoggedRequest): RequestLogEntry {
    const entry: RequestLogEntry = {
      at: Date.now(),
      method: request.method,
      path: request.path,
      query: request.query,
      status: null,
      replayed: false,
      ...(request.idempotencyKey === undefined ? {} : { idempotencyKey: request.idempotencyKey }),
      ...(request.method === 'GET' ? {} : { body: request.body }),
    };
    this.entries.push(entry);
    return entry;
  }

  /** Entries for `method` whose path matches `path` (a string matches exactly). */
  to(method: string, path: PathPattern): RequestLogEntry[] {
    return this.entries.filter((entry) => entry.method === method.toUpperCase() && matchesPath(path, entry.path));
  }
}
