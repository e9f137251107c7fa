/**
 * The Stripe event backfill's rules: which window a run lists, and where the cursor goes after it.
 * Workflow-safe (pure). The why is in docs/architecture.md ("Backfill from Stripe").
 *
 * Stripe lists events newest first, and an event may become visible in the list a little after its `created`.
 * A pure id cursor ("everything after evt_X") would skip such a late one for good, so the cursor is a time:
 * `listed_through`, a Stripe `created` instant (seconds) through which every handled event has been listed.
 *  - A scheduled run lists `created >= listed_through − OVERLAP`, every handled type, paging with
 *    `starting_after` (new events land at the head of the list and never shift the pages still to come).
 *  - It inserts every event the inbox lacks (ON CONFLICT DO NOTHING: what is there stays as it is).
 *  - Only at its end does it move the cursor: to the newest `created` it saw, but never later than its own start
 *    − SETTLE (what was created just before the listing may not be visible yet), and never backwards.
 * An event visible later than SETTLE + OVERLAP after its `created` would be missed by the schedule; a manual
 * `payconfirm events backfill --since …` lists any window again.
 */

/** Each scheduled run lists again this far before the cursor: events that became visible late. */
export const BACKFILL_OVERLAP_SECONDS = 300;
/** The cursor never passes a run's start minus this: events created just before may not be listed yet. */
export const BACKFILL_SETTLE_SECONDS = 60;
/** Stripe's `GET /v1/events` goes back 30 days. */
export const STRIPE_EVENT_LIST_DAYS = 30;
/** One page: Stripe's largest `limit`. One page is one activity (one Stripe request) on the Stripe task queue. */
export const BACKFILL_PAGE_SIZE = 100;

const DAY_SECONDS = 86_400;

/** What a run lists, decided once at its start (and carried across continue-as-new). */
export interface BackfillWindow {
  /** `created[gte]` of every page (Unix seconds). */
  fromCreated: number;
  /** When the listing began (Unix seconds, this process's clock): bounds the cursor's advance. */
  listingStartedAt: number;
  /** The cursor before the run; null before the first run that set it. */
  cursorBefore: number | null;
  /**
   * Whether the run may move the cursor: a scheduled run always; a manual one only when it started at or before
   * the cursor (or, with none yet, before the first run's lookback) — otherwise it skipped a stretch the cursor
   * must still cover.
   */
  advancesCursor: boolean;
  /**
   * The `types[]` filter of each listing, in order (Stripe takes at most 20 types a listing, so more handled types
   * make more listings over the same window; one cursor covers them all). Decided with the window, so a run lists
   * the groups it planned whatever code it continues on. Absent in a window planned before groups: one listing.
   */
  typeGroups?: string[][];
}

export function planBackfillWindow(input: {
  nowSeconds: number;
  cursor: number | null;
  /** A manual run's `--since` (Unix seconds); null for the scheduled run. */
  sinceCreated: number | null;
  /** With no cursor yet, the scheduled run lists from now − this many days. */
  lookbackDays: number;
}): BackfillWindow {
  const { nowSeconds, cursor, sinceCreated, lookbackDays } = input;
  const firstRunFrom = nowSeconds - lookbackDays * DAY_SECONDS;
  if (sinceCreated === null) {
    return { fromCreated: cursor === null ? firstRunFrom : cursor - BACKFILL_OVERLAP_SECONDS, listingStartedAt: nowSeconds, cursorBefore: cursor, advancesCursor: true };
  }
  return { fromCreated: sinceCreated, listingStartedAt: nowSeconds, cursorBefore: cursor, advancesCursor: sinceCreated <= (cursor ?? firstRunFrom) };
}

/** Where the cursor goes after a run that saw events up to `newestCreatedSeen` (null: it saw none, it stays). */
export function cursorAfterRun(window: BackfillWindow, newestCreatedSeen: number | null): number | null {
  if (!window.advancesCursor || newestCreatedSeen === null) return null;
  return Math.min(newestCreatedSeen, window.listingStartedAt - BACKFILL_SETTLE_SECONDS);
}

/** One page's work: listed from Stripe, inserted into the inbox or found there. */
export interface BackfillPageResult {
  /** Events on the page (handled types only: the request filters them). */
  listed: number;
  /** Inserted now: the inbox lacked them (the relay dispatches them like webhook deliveries). */
  inserted: number;
  /** Already in the inbox (delivered by webhook, or inserted by an earlier run). */
  alreadyPresent: number;
  /** Not shaped like an event payconfirm records (what the webhook route answers 400): skipped, logged. */
  malformed: number;
  /** The last (oldest) event id on the page: the next page's `starting_after`. */
  lastEventId: string | null;
  /** The newest `created` on the page. */
  newestCreated: number | null;
  hasMore: boolean;
}

/** What a whole run did (across continue-as-new): the CLI prints it, the workflow returns it. */
export interface BackfillTotals {
  pages: number;
  listed: number;
  inserted: number;
  alreadyPresent: number;
  malformed: number;
  newestCreatedSeen: number | null;
}

export const NO_BACKFILL_TOTALS: BackfillTotals = { pages: 0, listed: 0, inserted: 0, alreadyPresent: 0, malformed: 0, newestCreatedSeen: null };

export function addPage(totals: BackfillTotals, page: BackfillPageResult): BackfillTotals {
  return {
    pages: totals.pages + 1,
    listed: totals.listed + page.listed,
    inserted: totals.inserted + page.inserted,
    alreadyPresent: totals.alreadyPresent + page.alreadyPresent,
    malformed: totals.malformed + page.malformed,
    newestCreatedSeen:
      page.newestCreated === null ? totals.newestCreatedSeen : Math.max(totals.newestCreatedSeen ?? page.newestCreated, page.newestCreated),
  };
}
