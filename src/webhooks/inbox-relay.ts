import {
  claimInboxEventsForDispatch,
  killInboxEvent,
  markInboxEventsDispatched,
  recordRefusedStarts,
  releaseInboxClaims,
  type DeadLetterPolicy,
} from '../db/webhook-inbox.js';
import type { Pool } from '../db/pool.js';
import { summariseStripeEvent } from '../domain/stripe-events.js';
import { scrubSecrets, type Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { isTemporalDownOrBusy, isTemporalMisconfigured } from '../temporal/service-errors.js';
import { startStripeEventWorkflow, type StripeEventWorkflowStarter } from '../temporal/stripe-event-workflow-client.js';
import { backoffMs } from '../runtime/backoff.js';
import { createWakeablePause } from '../runtime/wakeable-pause.js';

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
  /**
   * A row whose start Temporal refuses (it answered no, for this row) retries on its own backoff and becomes
   * `dead` after `maxAttempts` refusals (WEBHOOK_RELAY_MAX_ATTEMPTS). Default: 8 refusals, 1 s doubling to 5 min.
   */
  deadLetter?: Partial<DeadLetterPolicy>;
}

export const DEFAULT_DEAD_LETTER_POLICY: DeadLetterPolicy = { maxAttempts: 8, initialSeconds: 1, maxSeconds: 300 };

export interface InboxRelay {
  /** A new inbox row exists: run a round now (wake-ups are coalesced; a backoff is not cut short). */
  wake(): void;
  /** Finishes the round in flight, then stops. */
  stop(): Promise<void>;
}

type RoundResult = 'more' | 'idle' | 'failing';

type StartResult = { kind: 'dispatched' } | { kind: 'undeliverable' } | { kind: 'refused' | 'unreachable'; error: Error };

const errorOf = (r: StartResult): Error => ('error' in r ? r.error : new Error(r.kind));

/**
 * Turns inbox rows into event workflows, in the API process, at Temporal's pace: the webhook answer never waits
 * for it. Each round claims up to `batchSize` rows (`received`, oldest first, SKIP LOCKED so API replicas share
 * the work), starts `evt_…` for each (an existing one counts as dispatched), and marks them `dispatched`.
 * Temporal down or busy: the round releases its rows and the relay backs off (no row's attempt counts).
 * Temporal refusing one row's start: that row alone waits its backoff and, after `deadLetter.maxAttempts`
 * refusals, is `dead` (a dead letter: `payconfirm events list --status dead`, then `events replay`); the other
 * rows flow on. Full rounds follow each other at once; an empty round sleeps until woken or the poll interval.
 */
export function startInboxRelay(opts: InboxRelayOptions): InboxRelay {
  const batchSize = opts.batchSize ?? 50;
  const pollIntervalMs = opts.pollIntervalMs ?? 2_000;
  const leaseSeconds = opts.leaseSeconds ?? 60;
  const startDeadlineMs = opts.startDeadlineMs ?? 5_000;
  const backoff = opts.backoff ?? { initialMs: 250, maxMs: 10_000 };
  const maxStartsPerSecond = opts.maxStartsPerSecond ?? 200;
  const deadLetter = { ...DEFAULT_DEAD_LETTER_POLICY, ...opts.deadLetter };
  const log = opts.logger.child({ component: 'webhook-inbox-relay' });
  const { pool, events, metrics } = opts;

  const sleeper = createWakeablePause();
  const pause = sleeper.pause;

  /**
   * One row's start. `unreachable`: Temporal is down, shedding load or refusing our credentials or namespace —
   * no row's fault, the relay backs off.
   * `refused`: Temporal answered no for this row — the row backs off alone and dies after `maxAttempts`.
   */
  async function startOne(eventId: string, payload: unknown): Promise<StartResult> {
    const shape = summariseStripeEvent(payload);
    if (!shape.ok) {
      await killInboxEvent(pool, eventId, `stored payload is not a Stripe event: ${shape.problem}`);
      metrics?.webhookEventsDeadLettered.inc();
      log.error({ eventId, problem: shape.problem }, 'inbox row is not a Stripe event: dead letter');
      return { kind: 'undeliverable' };
    }
    const began = process.hrtime.bigint();
    try {
      const started = await events.client.connection.withDeadline(Date.now() + startDeadlineMs, () => startStripeEventWorkflow(events, shape.summary));
      metrics?.workflowStartSeconds.observe({ workflow: 'stripe_event' }, Number(process.hrtime.bigint() - began) / 1e9);
      if (started === 'already_started') metrics?.duplicatesStopped.inc({ guard: 'workflow_id' });
      return { kind: 'dispatched' };
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      return { kind: isTemporalDownOrBusy(err) || isTemporalMisconfigured(err) ? 'unreachable' : 'refused', error };
    }
  }

  async function round(): Promise<RoundResult> {
    sleeper.clearWake();
    const rows = await claimInboxEventsForDispatch(pool, batchSize, leaseSeconds);
    if (rows.length === 0) return 'idle';
    const results = await Promise.all(rows.map((r) => startOne(r.eventId, r.payload)));
    const withResult = rows.map((row, i) => ({ eventId: row.eventId, result: results[i]! }));
    const of = (kind: StartResult['kind']) => withResult.filter((r) => r.result.kind === kind);
    await markInboxEventsDispatched(pool, of('dispatched').map((r) => r.eventId));
    const refused = of('refused').map(({ eventId, result }) => ({ eventId, error: `Temporal refused the event workflow: ${scrubSecrets(errorOf(result).message)}` }));
    const died = await recordRefusedStarts(pool, refused, deadLetter);
    if (refused.length > 0) log.warn({ refused: refused.length, died: died.length, firstError: refused[0]!.error }, 'Temporal refused inbox rows');
    if (died.length > 0) {
      metrics?.webhookEventsDeadLettered.inc(died.length);
      log.error({ eventIds: died, maxAttempts: deadLetter.maxAttempts }, 'inbox rows dead-lettered: `payconfirm events list --status dead`');
    }
    const unreachable = of('unreachable');
    if (unreachable.length === 0) return rows.length === batchSize ? 'more' : 'idle';
    const firstError = errorOf(unreachable[0]!.result);
    await releaseInboxClaims(pool, unreachable.map((r) => r.eventId), `starting the event workflow failed: ${scrubSecrets(firstError.message)}`);
    throw firstError;
  }

  async function run(): Promise<void> {
    let failures = 0;
    while (!sleeper.stopping) {
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
      else if (result === 'failing') await pause(backoffMs(failures, backoff), false);
    }
  }

  const running = run();
  return {
    wake: sleeper.wake,
    async stop() {
      sleeper.stop();
      await running;
    },
  };
}
