import { STRIPE_EVENT_LIST_DAYS } from '../../domain/stripe-event-backfill.js';
import { durationMinutes } from '../../domain/duration.js';
import { startManualStripeEventBackfill } from '../../webhooks/stripe-event-backfill-schedule.js';
import type { StripeEventBackfillResult } from '../../../workflows/stripe-event-backfill-workflow.js';
import { millisecondsOption, noPositionals, parseCommandArgs } from '../args.js';
import { cliConfig, withTemporal } from '../cli-env.js';
import { CliFailure, EXIT, UsageError } from '../cli-errors.js';
import { jsonText, type CliIo } from '../output.js';

const DEFAULT_WAIT_MS = 600_000;

/** `payconfirm events backfill`: its line in the group's usage, and its paragraph. */
export const BACKFILL_USAGE_LINE = '  payconfirm events backfill --since DATE|AGE [--wait MS] [--json]';
export const BACKFILL_HELP = `backfill lists Stripe's events (GET /v1/events, the types payconfirm handles) created since --since — an ISO
date or date-time, or an age: 90m, 6h, 3d (at most ${STRIPE_EVENT_LIST_DAYS} days: what Stripe keeps) — and inserts into the inbox
every event it lacks, as its webhook would have; the relay then dispatches them, and a later delivery of one is a
duplicate. It runs the scheduled backfill's workflow now, on the workers, within the shared Stripe request budget, and
prints pages, events listed, inserted and already present. It waits --wait MS (default ${DEFAULT_WAIT_MS}); still
running then: exit 2 (it goes on: its workflow id is printed). Needs TEMPORAL_ADDRESS and TEMPORAL_TASK_QUEUE.
`;

const DAY_MS = 86_400_000;

/** --since: an ISO date / date-time, or an age (`90m`, `6h`, `3d`) before `now`; within Stripe's 30 days. */
export function parseBackfillSince(value: string | undefined, now: Date): Date {
  if (value === undefined) throw new UsageError('--since is required: an ISO date or date-time, or an age like 6h or 3d');
  const ageMinutes = durationMinutes(value);
  const since = ageMinutes !== null ? new Date(now.getTime() - ageMinutes * 60_000) : new Date(value);
  if (Number.isNaN(since.getTime()) || (ageMinutes === null && !/^\d{4}-\d{2}-\d{2}/.test(value))) {
    throw new UsageError(`--since wants an ISO date or date-time, or an age like 6h or 3d; got ${JSON.stringify(value)}`);
  }
  if (since.getTime() < now.getTime() - STRIPE_EVENT_LIST_DAYS * DAY_MS) {
    throw new UsageError(`--since goes back at most ${STRIPE_EVENT_LIST_DAYS} days: Stripe lists no older events`);
  }
  if (since.getTime() > now.getTime()) throw new UsageError('--since is in the future');
  return since;
}

const iso = (seconds: number | null): string | null => (seconds === null ? null : new Date(seconds * 1000).toISOString());

export async function backfill(argv: string[], io: CliIo, usage: string): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { since: { type: 'string' }, wait: { type: 'string' }, json: { type: 'boolean' } });
  if (values.help) return io.stdout(usage), EXIT.ok;
  noPositionals(positionals);
  const since = parseBackfillSince(values.since, new Date());
  const waitMs = millisecondsOption('wait', values.wait, DEFAULT_WAIT_MS);
  const config = cliConfig(io.env);

  return withTemporal(config, async ({ client, taskQueue }) => {
    const run = await startManualStripeEventBackfill(client, taskQueue, {
      sinceCreated: Math.floor(since.getTime() / 1000),
      lookbackDays: config.stripeEventBackfill.lookbackDays,
    });
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      run.result(),
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), waitMs))),
    ]).finally(() => clearTimeout(timer));
    if (outcome === 'timeout') {
      const pending = { workflowId: run.workflowId, status: 'running', since: since.toISOString() };
      throw new CliFailure(`the backfill is still running after ${waitMs} ms; it goes on: temporal workflow show --workflow-id ${run.workflowId}`, EXIT.pending, values.json ? pending : undefined);
    }
    io.stdout(values.json ? jsonText(report(run.workflowId, since, outcome)) : text(run.workflowId, since, outcome));
    return EXIT.ok;
  });
}

function report(workflowId: string, since: Date, r: StripeEventBackfillResult) {
  return {
    workflowId,
    since: since.toISOString(),
    pages: r.pages,
    listed: r.listed,
    inserted: r.inserted,
    alreadyPresent: r.alreadyPresent,
    malformed: r.malformed,
    cursorBefore: iso(r.window.cursorBefore),
    cursorAfter: iso(r.cursorAfter),
  };
}

function text(workflowId: string, since: Date, r: StripeEventBackfillResult): string {
  const cursor = !r.window.advancesCursor
    ? `cursor left at ${iso(r.window.cursorBefore) ?? 'none (the schedule sets it)'}: --since is later than it, so this run skipped a stretch the schedule still covers`
    : `cursor ${iso(r.window.cursorBefore) ?? 'none'} → ${iso(r.cursorAfter) ?? 'none'}`;
  return [
    `Stripe events created since ${since.toISOString()} (the types payconfirm handles): ${r.pages} page(s), ${r.listed} listed, ` +
      `${r.inserted} inserted into the inbox, ${r.alreadyPresent} already there${r.malformed ? `, ${r.malformed} skipped as malformed (see the worker log)` : ''}.`,
    cursor,
    `workflow ${workflowId}`,
    '',
  ].join('\n');
}
