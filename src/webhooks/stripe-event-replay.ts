import { findInboxPayload, markInboxEventReplaying, restoreAfterFailedReplay } from '../db/webhook-inbox.js';
import type { Pool } from '../db/pool.js';
import { summariseStripeEvent } from '../domain/stripe-events.js';
import { scrubSecrets } from '../logger.js';
import { startStripeEventWorkflow, type StripeEventWorkflowStarter } from '../temporal/stripe-event-workflow-client.js';

/**
 * What became of one replay request:
 * - `replayed`: a new run of the event workflow `evt_…` started; it forwards the event again and writes the outcome
 * - `running`: a run of `evt_…` is still going (it will write the outcome; nothing new was started)
 * - `skipped`: nothing to replay, `why` says why (no such event, the relay still has it, its body was not kept)
 * - `failed`: the start failed (Temporal unreachable…); the row is as it was, with the error
 */
export type ReplayOutcome =
  | { eventId: string; result: 'replayed' | 'running' }
  | { eventId: string; result: 'skipped' | 'failed'; why: string };

/**
 * An operator's replay of a Stripe event from the inbox: a new run of its event workflow, whatever became of the
 * earlier ones (failed forward, dead letter, or processed). Money is never applied twice: the payment workflow
 * re-reads Stripe and writes only the movements whose ledger keys are missing.
 */
export async function replayStripeEvent(deps: { pool: Pool; events: StripeEventWorkflowStarter }, eventId: string): Promise<ReplayOutcome> {
  const row = await findInboxPayload(deps.pool, eventId);
  if (!row) return { eventId, result: 'skipped', why: 'no such event in the inbox' };
  if (row.status === 'received') return { eventId, result: 'skipped', why: 'the relay has not dispatched it yet (status received)' };
  const shape = summariseStripeEvent(row.payload);
  if (!shape.ok) return { eventId, result: 'skipped', why: `its stored body is not a Stripe event (${shape.problem})` };
  const before = await markInboxEventReplaying(deps.pool, eventId);
  if (!before) return { eventId, result: 'skipped', why: 'the relay took it meanwhile' };
  try {
    const started = await deps.events.client.connection.withDeadline(Date.now() + 10_000, () =>
      startStripeEventWorkflow(deps.events, shape.summary, { replay: true }),
    );
    return { eventId, result: started === 'started' ? 'replayed' : 'running' };
  } catch (err) {
    const why = scrubSecrets(err instanceof Error ? err.message : String(err));
    await restoreAfterFailedReplay(deps.pool, eventId, before, why);
    return { eventId, result: 'failed', why };
  }
}
