import { isDeadlineExceeded, isTemporalUnavailable } from '../temporal/service-errors.js';
import { HttpError, unavailable } from './http-errors.js';
import type { ApiDeps } from './api-deps.js';

/**
 * Temporal answered nothing within the request's deadline, though it is reachable: busy (a backlog), not down.
 * Callers say so (confirm answers 202 pending: the start may have happened), never "unavailable".
 */
export class TemporalDeadlineError extends HttpError {
  constructor(deadlineMs: number) {
    super(503, 'temporal_busy', `the workflow service did not answer within ${deadlineMs / 1000} s (it is busy, not down); retry shortly`, {
      'Retry-After': '2',
    });
  }
}

/**
 * Every Temporal call from a request has a deadline. An unreachable Temporal becomes 503 `temporal_unavailable`
 * + Retry-After; a deadline that passes while Temporal is reachable becomes TemporalDeadlineError.
 */
export async function withTemporal<T>(deps: Pick<ApiDeps, 'temporal'>, fn: () => Promise<T>, deadlineMs = 5_000): Promise<T> {
  try {
    return await deps.temporal.connection.withDeadline(Date.now() + deadlineMs, fn);
  } catch (err) {
    // The client retries an unreachable server until the deadline, so a deadline alone does not say which:
    // a one-second probe of the frontend tells busy from down.
    if (isDeadlineExceeded(err) && (await answersProbe(deps))) throw new TemporalDeadlineError(deadlineMs);
    if (isTemporalUnavailable(err)) throw unavailable('temporal_unavailable', 'the workflow service is unreachable; retry shortly', 5);
    throw err;
  }
}

async function answersProbe(deps: Pick<ApiDeps, 'temporal'>): Promise<boolean> {
  try {
    await deps.temporal.connection.withDeadline(Date.now() + 1_000, () => deps.temporal.connection.workflowService.getSystemInfo({}));
    return true;
  } catch {
    return false;
  }
}
