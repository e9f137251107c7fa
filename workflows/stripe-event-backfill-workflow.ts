import { continueAsNew, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { StripeEventBackfillCursorActivities, StripeEventPageActivities } from '../activities/stripe-event-backfill-activities.js';
import {
  addPage,
  BACKFILL_PAGE_SIZE,
  cursorAfterRun,
  NO_BACKFILL_TOTALS,
  type BackfillTotals,
  type BackfillWindow,
} from '../src/domain/stripe-event-backfill.js';
import { PRIORITY } from '../src/temporal/priorities.js';
import { stripeTaskQueueFor } from '../src/temporal/task-queues.js';

export interface StripeEventBackfillInput {
  /** A manual run (`payconfirm events backfill --since`): list from here, Unix seconds. Absent: the scheduled run. */
  sinceCreated?: number | null;
  /** The scheduled run with no cursor yet lists from now − this many days (STRIPE_EVENT_BACKFILL_LOOKBACK_DAYS). */
  lookbackDays: number;
  /** Pages per run before continue-as-new (keeps the history short); default 100 (10,000 events). */
  pagesPerRun?: number;
  /** Carried across continue-as-new: the window, where the listing stands (type group, page), what was done so far. */
  progress?: { window: BackfillWindow; group?: number; startingAfter: string | null; totals: BackfillTotals };
}

export interface StripeEventBackfillResult extends BackfillTotals {
  window: BackfillWindow;
  /** The cursor after the run (unchanged when the run may not move it or saw nothing). */
  cursorAfter: number | null;
}

/**
 * Backfill from Stripe (run by a Temporal Schedule, src/webhooks/stripe-event-backfill-schedule.ts, or by
 * `payconfirm events backfill --since`): lists `GET /v1/events` — the handled types, newest first, from the window's
 * `created` — one page per activity on the Stripe task queue (so STRIPE_RATE_LIMIT_PER_SECOND holds it), and each
 * page inserts the events the inbox lacks, as a webhook delivery would; the relay dispatches them. The cursor moves
 * only at the end (src/domain/stripe-event-backfill.ts). A long listing continues as new, carrying where it stands.
 * Pages go at the lowest priority: payments first.
 */
export async function stripeEventBackfillWorkflow(input: StripeEventBackfillInput): Promise<StripeEventBackfillResult> {
  const retry = { initialInterval: '1 second', maximumInterval: '1 minute', backoffCoefficient: 2, maximumAttempts: 10 };
  const cursor = proxyActivities<StripeEventBackfillCursorActivities>({ startToCloseTimeout: '30 seconds', retry });
  const { listStripeEventPage } = proxyActivities<StripeEventPageActivities>({
    taskQueue: stripeTaskQueueFor(workflowInfo().taskQueue),
    startToCloseTimeout: '60 seconds',
    retry,
    priority: { priorityKey: PRIORITY.intake + 1 },
  });
  const pagesPerRun = input.pagesPerRun ?? 100;

  const window = input.progress?.window ?? (await cursor.planStripeEventBackfill({ sinceCreated: input.sinceCreated ?? null, lookbackDays: input.lookbackDays }));
  let startingAfter = input.progress?.startingAfter ?? null;
  let totals = input.progress?.totals ?? NO_BACKFILL_TOTALS;
  // One listing per group of at most 20 types (Stripe's types[] limit), each paged to its end; a window planned
  // before groups existed lists once, as it did.
  const groups: (string[] | null)[] = window.typeGroups ?? [null];
  let group = input.progress?.group ?? 0;

  for (let pagesThisRun = 0; group < groups.length; pagesThisRun++) {
    if (pagesThisRun >= pagesPerRun || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof stripeEventBackfillWorkflow>({ ...input, progress: { window, group, startingAfter, totals } });
    }
    const types = groups[group];
    const page = await listStripeEventPage({ fromCreated: window.fromCreated, startingAfter, limit: BACKFILL_PAGE_SIZE, ...(types ? { types } : {}) });
    totals = addPage(totals, page);
    if (page.hasMore && page.lastEventId !== null) {
      startingAfter = page.lastEventId;
    } else {
      group++;
      startingAfter = null;
    }
  }

  const to = cursorAfterRun(window, totals.newestCreatedSeen);
  const cursorAfter = to === null ? window.cursorBefore : await cursor.advanceStripeEventBackfillCursor({ listedThrough: to });
  return { ...totals, window, cursorAfter };
}
