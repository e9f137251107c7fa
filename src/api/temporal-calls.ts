import { unavailable } from './http-errors.js';
import type { ApiDeps } from './api-deps.js';

/** Every Temporal call from a request has a deadline; an unreachable Temporal becomes 503 + Retry-After. */
export async function withTemporal<T>(deps: Pick<ApiDeps, 'temporal'>, fn: () => Promise<T>, deadlineMs = 5_000): Promise<T> {
  try {
    return await deps.temporal.connection.withDeadline(Date.now() + deadlineMs, fn);
  } catch (err) {
    if (isTemporalUnavailable(err)) throw unavailable('temporal_unavailable', 'the workflow service is unreachable; retry shortly', 5);
    throw err;
  }
}

/** gRPC UNAVAILABLE (14) or DEADLINE_EXCEEDED (4), or a connection-level failure. */
export function isTemporalUnavailable(err: unknown): boolean {
  const e = err as { code?: number; cause?: { code?: number }; name?: string; message?: string } | null;
  const code = e?.code ?? e?.cause?.code;
  return code === 14 || code === 4 || /UNAVAILABLE|DEADLINE_EXCEEDED|ECONNREFUSED|Connection dropped/i.test(e?.message ?? '');
}
