import type { ApiDeps } from './api-deps.js';

export interface Readiness {
  ready: boolean;
  checks: { postgres: 'ok' | 'unreachable'; temporal: 'ok' | 'unreachable' };
}

const within = <T>(ms: number, work: Promise<T>): Promise<T> =>
  Promise.race([work, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms).unref())]);

/** Postgres answers a query and Temporal serves our namespace, each within 2 s. */
export async function checkReadiness(deps: Pick<ApiDeps, 'pool' | 'temporal'>): Promise<Readiness> {
  const [postgres, temporal] = await Promise.all([
    within(2_000, deps.pool.query('SELECT 1')).then(() => 'ok' as const, () => 'unreachable' as const),
    deps.temporal.connection
      .withDeadline(Date.now() + 2_000, () => deps.temporal.connection.workflowService.describeNamespace({ namespace: deps.temporal.namespace }))
      .then(() => 'ok' as const, () => 'unreachable' as const),
  ]);
  return { ready: postgres === 'ok' && temporal === 'ok', checks: { postgres, temporal } };
}
