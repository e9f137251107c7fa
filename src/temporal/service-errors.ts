/**
 * What a failed call to the Temporal frontend says about Temporal: down or busy (nobody's fault, back off and try
 * again) or a refusal of this very request (the server answered no: retrying the same request will not help).
 */

const grpcCode = (err: unknown): number | undefined => {
  const e = err as { code?: number; cause?: { code?: number } } | null;
  return e?.code ?? e?.cause?.code;
};

const messageOf = (err: unknown): string => (err as { message?: string } | null)?.message ?? '';

/** gRPC DEADLINE_EXCEEDED (4): the call did not finish in time. */
export const isDeadlineExceeded = (err: unknown): boolean => grpcCode(err) === 4 || /DEADLINE_EXCEEDED/i.test(messageOf(err));

/** gRPC UNAVAILABLE (14) or DEADLINE_EXCEEDED (4), or a connection-level failure. */
export function isTemporalUnavailable(err: unknown): boolean {
  const code = grpcCode(err);
  return code === 14 || code === 4 || /UNAVAILABLE|DEADLINE_EXCEEDED|ECONNREFUSED|Connection dropped/i.test(messageOf(err));
}

/** Unreachable, out of time, or shedding load (RESOURCE_EXHAUSTED, 8): Temporal's state, not the request's fault. */
export const isTemporalDownOrBusy = (err: unknown): boolean =>
  isTemporalUnavailable(err) || grpcCode(err) === 8 || /RESOURCE_EXHAUSTED/i.test(messageOf(err));

/**
 * Refused for who is asking, not for what: PERMISSION_DENIED (7), UNAUTHENTICATED (16), or NOT_FOUND (5: the
 * namespace). Every request fails alike until the configuration is fixed, so no single request is at fault.
 */
export const isTemporalMisconfigured = (err: unknown): boolean => [5, 7, 16].includes(grpcCode(err) ?? -1);
