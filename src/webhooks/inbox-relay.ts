import { claimInboxEventsForDispatch, failInboxEvent, markInboxEventsDispatched, releaseInboxClaims } from '../db/webhook-inbox.js';
import type { Pool } from '../db/pool.js';
import { summariseStripeEvent } from '../domain/stripe-events.js';
import { scrubSecrets, type Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { startStripeEventWorkflow, type StripeEventWorkflowStarter } from '../temporal/stripe-event-workflow-client.js';

export interface InboxRelayOptions {
  pool: Pool;
  events: StripeEventWorkflowStarter;
  logger: Logger;
  metrics?: Metrics;
  /** Rows claimed and started per round (started concurrently). */
  batchSize?: number;
  /** Without a wake-up, look for rows this often (other replicas' rows, expired claims). */
  pollIntervalMs?: number;
  /** How long a claim holds a row; a relay that dies mid-round loses its rows to another after this. */
  leaseSeconds?: number;
  /** Deadline of one workflow start. */
  startDeadlineMs?: number;
  /** While Temporal (or Postgres) fails: wait initialMs, doubling up to maxMs, between rounds. */
  backoff?: { initialMs: number; maxMs: number };
  /**
   * At most this many workflow starts a second (WEBHOOK_RELAY_STARTS_PER_SECOND): a backlog drains at a pace that
   * leaves the API's CPU to acknowledging webhooks and Temporal's to the work already started. 0: no pace.
   */
  maxStartsPerSecond?: number;
}

export interface InboxRelay {
  /** A new inbox row exists: run a round now (wake-ups are coalesced; a backoff is not cut short). */
  wake(): void;
  /** Finishes the round in flight, then stops. */
  stop(): Promise<void>;
}

type RoundResult = 'more' | 'idle' | 'failing';

/**
 * Turns inbox rows into event workflows, in the API process, at Temporal's pace: the webhook answer never waits
 * for it. Each round claims up to `batchSize` rows (`received`, oldest first, SKIP LOCKED so API replicas share
 * the work), starts `evt_…` for each (an existing one counts as dispatched), and marks them `dispatched`.
 * A failing round releases its rows and backs off; full rounds follow each other at once; an empty round sleeps
 * until woken by a new row or the poll interval.
 */
export function startInboxRelay(opts: InboxRelayOptions): InboxRelay {
  const batchSize = opts.batchSize ?? 50;
  const pollIntervalMs = opts.pollIntervalMs ?? 2_000;
  const leaseSeconds = opts.leaseSeconds ?? 60;
  const startDeadlineMs = opts.startDeadlineMs ?? 5_000;
  const backoff = opts.backoff ?? { initialMs: 250, maxMs: 10_000 };
  const maxStartsPerSecond = opts.maxStartsPerSecond ?? 200;
  const log = opts.logger.child({ component: 'webhook-inbox-relay' });
  const { pool, events, metrics } = opts;

  let stopping = false;
  let woken = false;
  let interrupt: (() => void) | null = null;

  /** Sleeps `ms`, returning early on stop — and on a wake-up if `wakeable`. */
  const pause = (ms: number, wakeable: boolean): Promise<void> => {
    if (stopping || (wakeable && woken)) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        interrupt = null;
        resolve();
      }
      interrupt = () => (stopping || wakeable) && done();
    });
  };

  async function startOne(eventId: string, payload: unknown): Promise<'dispatched' | 'undeliverable' | Error> {
    const shape = summariseStripeEvent(payload);
    if (!shape.ok) {
      await failInboxEvent(pool, eventId, `stored payload is not a Stripe event: ${shape.problem}`);
      return 'undeliverable';
    }
    const began = process.hrtime.bigint();
    try {
      const started = await events.client.connection.withDeadline(Date.now() + startDeadlineMs, () => startStripeEventWorkflow(events, shape.summary));
      metrics?.workflowStartSeconds.observe({ workflow: 'stripe_event' }, Number(process.hrtime.bigint() - began) / 1e9);
      if (started === 'already_started') metrics?.duplicatesStopped.inc({ guard: 'workflow_id' });
      return 'dispatched';
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
  }

  async function round(): Promise<RoundResult> {
    woken = false;
    const rows = await claimInboxEventsForDispatch(pool, batchSize, leaseSeconds);
    if (rows.length === 0) return 'idle';
    const results = await Promise.all(rows.map((r) => startOne(r.eventId, r.payload)));
    const dispatched = rows.filter((_, i) => results[i] === 'dispatched').map((r) => r.eventId);
    const failed = rows.filter((_, i) => results[i] instanceof Error).map((r) => r.eventId);
    await markInboxEventsDispatched(pool, dispatched);
    if (failed.length === 0) return rows.length === batchSize ? 'more' : 'idle';
    const firstError = results.find((r): r is Error => r instanceof Error)!;
    await releaseInboxClaims(pool, failed, `starting the event workflow failed: ${scrubSecrets(firstError.message)}`);
    throw firstError;
  }

  async function run(): Promise<void> {
    let failures = 0;
    while (!stopping) {
      let result: RoundResult;
      const began = performance.now();
      try {
        result = await round();
        if (failures > 0) log.info({ failedRounds: failures }, 'inbox relay recovered');
        failures = 0;
      } catch (err) {
        failures++;
        if (failures === 1 || failures % 20 === 0) {
          log.warn({ err: { message: scrubSecrets((err as Error).message) }, failedRounds: failures }, 'inbox relay cannot dispatch; backing off');
        }
        result = 'failing';
      }
      if (result === 'more' && maxStartsPerSecond > 0) {
        // A full round of batchSize starts may not come sooner than the pace allows.
        const earliestNextMs = (batchSize / maxStartsPerSecond) * 1000;
        const elapsedMs = performance.now() - began;
        if (elapsedMs < earliestNextMs) await pause(earliestNextMs - elapsedMs, false);
      }
      if (result === 'idle') await pause(pollIntervalMs, true);
      else if (result === 'failing') await pause(Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(failures - 1, 16)), false);
    }
  }

  const running = run();
  return {
    wake() {
      woken = true;
      interrupt?.();
    },
    async stop() {
      stopping = true;
      interrupt?.();
      await running;
    },
  };
}
