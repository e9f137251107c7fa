import { pruneIdempotencyKeys } from '../src/db/idempotency-keys.js';
import type { Pool } from '../src/db/pool.js';
import { pruneInbox } from '../src/db/webhook-inbox.js';

export interface MaintenanceActivityDeps {
  pool: Pool;
}

/** Retention housekeeping, run by the hourly prune Schedule (workflows/webhook-inbox-prune-workflow.ts). */
export function createMaintenanceActivities({ pool }: MaintenanceActivityDeps) {
  return {
    /** Deletes finished inbox rows older than the retention; returns how many. */
    async pruneWebhookInbox(input: { retentionDays: number }): Promise<number> {
      return pruneInbox(pool, input.retentionDays);
    },

    /** Deletes API Idempotency-Keys past their retention (IDEMPOTENCY_KEY_TTL_HOURS); returns how many. */
    async pruneIdempotencyKeys(): Promise<number> {
      return pruneIdempotencyKeys(pool);
    },
  };
}

export type MaintenanceActivities = ReturnType<typeof createMaintenanceActivities>;
