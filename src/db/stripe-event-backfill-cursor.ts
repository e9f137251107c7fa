import type { Pool } from './pool.js';

/**
 * The backfill's cursor (table `stripe_event_backfill_cursor`, one row): a Stripe `created` instant, in seconds,
 * through which every handled event has been listed and is in the inbox. See the migration for its rules.
 */
const CURSOR_NAME = 'stripe_events';

/** Seconds since the epoch, or null before the first run that may set it. */
export async function readBackfillCursor(pool: Pool): Promise<number | null> {
  const { rows } = await pool.query<{ listed_through: string }>(
    `SELECT extract(epoch FROM listed_through)::bigint::text AS listed_through FROM stripe_event_backfill_cursor WHERE name = $1`,
    [CURSOR_NAME],
  );
  return rows[0] ? Number(rows[0].listed_through) : null;
}

/**
 * Moves the cursor to `listedThrough` (seconds), never backwards: two runs finishing in any order leave the later
 * instant. Returns the cursor as it stands after.
 */
export async function advanceBackfillCursor(pool: Pool, listedThrough: number): Promise<number> {
  const { rows } = await pool.query<{ listed_through: string }>(
    `INSERT INTO stripe_event_backfill_cursor (name, listed_through) VALUES ($1, to_timestamp($2))
     ON CONFLICT (name) DO UPDATE SET
       listed_through = GREATEST(stripe_event_backfill_cursor.listed_through, EXCLUDED.listed_through),
       updated_at = now()
     RETURNING extract(epoch FROM listed_through)::bigint::text AS listed_through`,
    [CURSOR_NAME, listedThrough],
  );
  return Number(rows[0]!.listed_through);
}
