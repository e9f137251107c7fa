import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/workflow';

/**
 * The failure of an activity that gave up, as the workflow receives it: an activity's comes wrapped in an
 * ActivityFailure, a local activity's arrives as the ApplicationFailure (or TimeoutFailure) itself (SDK 1.24). Anything else —
 * cancellation, a bug in the workflow — is not an activity's failure: null, and the caller rethrows.
 */
export function activityFailureOf(err: unknown): { failure: Error; application: ApplicationFailure | null } | null {
  if (err instanceof ActivityFailure) {
    const failure = err.cause ?? err;
    return { failure, application: failure instanceof ApplicationFailure ? failure : null };
  }
  if (err instanceof ApplicationFailure) return { failure: err, application: err };
  if (err instanceof TimeoutFailure) return { failure: err, application: null };
  return null;
}
