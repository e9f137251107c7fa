import type { EventOutcome } from '../domain/stripe-events.js';
import type { RouteForward } from './route-forwarder.js';

/**
 * How team routes change an event's inbox outcome. Workflow-safe (pure): the event workflow calls these.
 * The built-in routing's outcome comes first; routes add to it.
 */


/**
 * Routes took the event: an event nothing built in handles becomes `processed`, `routed: billing-sync → billing-sync/sub_123`;
 * one the built-in routing handled keeps its status, with the routes appended. No route: unchanged.
 */
export function withRoutedForwards(result: EventOutcome, forwards: readonly RouteForward[]): EventOutcome {
  if (forwards.length === 0) return result;
  const routed = `routed: ${forwards.map((f) => `${f.route} → ${f.workflowId}`).join(', ')}`;
  if (result.status === 'ignored') return { status: 'processed', outcome: routed };
  return { ...result, outcome: `${result.outcome}; ${routed}` };
}

/** A route could not be reached (after the forward's retries): the event is `failed`, replayable, with the reason. */
export function withFailedRoutes(result: EventOutcome, failedRoutes: readonly string[], error: string): EventOutcome {
  const failed = `route_failed: ${failedRoutes.length ? failedRoutes.join(', ') : 'team routes'}`;
  return {
    status: 'failed',
    outcome: result.status === 'ignored' ? failed : `${result.outcome}; ${failed}`,
    lastError: result.lastError ? `${result.lastError}; ${error}` : error,
  };
}
