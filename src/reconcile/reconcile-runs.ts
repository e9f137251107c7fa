import type { Drift } from '../domain/books-drift.js';
import type { Pool } from '../db/pool.js';
import { scrubSecrets } from '../logger.js';

/**
 * The scheduled reconcile's record in Postgres (`reconcile_runs`, `reconcile_run_findings`; migration
 * 1732300000006): what each run checked and found, so the latest drift can be reported by any process.
 */

/** A PaymentIntent a run found drifting, or could not check. */
export interface ReconcileFinding {
  paymentIntentId: string;
  /** compareBooks' status (credited, needs_attention, …); null when it could not be compared. */
  status: string | null;
  /** The drift found, before the wake. */
  drift: Drift[];
  /** The drift left once its workflow settled; null when not checked again. */
  driftAfter: Drift[] | null;
  /** Why it could not be compared (no secrets: Stripe's error type, code and message). */
  error: string | null;
}

export interface ReconcileRunSummary {
  runId: string;
  since: string;
  startedAt: string;
  finishedAt: string | null;
  checked: number;
  drifting: number;
  unresolved: number;
  failed: number;
}

interface RunRow {
  run_id: string;
  since: Date;
  started_at: Date;
  finished_at: Date | null;
  checked: number;
  drifting: number;
  unresolved: number;
  failed: number;
}

const toSummary = (r: RunRow): ReconcileRunSummary => ({
  runId: r.run_id,
  since: r.since.toISOString(),
  startedAt: r.started_at.toISOString(),
  finishedAt: r.finished_at?.toISOString() ?? null,
  checked: r.checked,
  drifting: r.drifting,
  unresolved: r.unresolved,
  failed: r.failed,
});

export async function beginReconcileRun(pool: Pool, runId: string, since: Date): Promise<void> {
  await pool.query('INSERT INTO reconcile_runs (run_id, since) VALUES ($1, $2) ON CONFLICT (run_id) DO NOTHING', [runId, since]);
}

/** Upserts findings by (run, PaymentIntent): a retried page writes the same rows again. */
export async function recordReconcileFindings(pool: Pool, runId: string, findings: ReconcileFinding[]): Promise<void> {
  if (findings.length === 0) return;
  await pool.query(
    `INSERT INTO reconcile_run_findings (run_id, payment_intent_id, status, drift, drift_after, error)
     SELECT $1, f.payment_intent_id, f.status, f.drift, f.drift_after, f.error
     FROM jsonb_to_recordset($2::jsonb) AS f(payment_intent_id text, status text, drift jsonb, drift_after jsonb, error text)
     ON CONFLICT (run_id, payment_intent_id) DO UPDATE SET
       status = EXCLUDED.status, drift = EXCLUDED.drift, drift_after = EXCLUDED.drift_after, error = EXCLUDED.error, found_at = now()`,
    [
      runId,
      JSON.stringify(
        findings.map((f) => ({
          payment_intent_id: f.paymentIntentId,
          status: f.status,
          drift: f.drift,
          drift_after: f.driftAfter,
          error: f.error === null ? null : scrubSecrets(f.error).slice(0, 2_000),
        })),
      ),
    ],
  );
}

/**
 * Closes the run: totals counted from its findings. `closedNow` is false when it was closed already (a retried
 * activity), so the caller counts and logs it once.
 */
export async function finishReconcileRun(pool: Pool, runId: string, checked: number): Promise<{ run: ReconcileRunSummary | null; closedNow: boolean }> {
  const { rows } = await pool.query<RunRow>(
    `UPDATE reconcile_runs r SET finished_at = now(), checked = $2,
       drifting = f.drifting, unresolved = f.unresolved, failed = f.failed
     FROM (SELECT count(*) FILTER (WHERE error IS NULL AND jsonb_array_length(drift) > 0)::int AS drifting,
                  count(*) FILTER (WHERE error IS NULL AND jsonb_array_length(COALESCE(drift_after, drift)) > 0)::int AS unresolved,
                  count(*) FILTER (WHERE error IS NOT NULL)::int AS failed
           FROM reconcile_run_findings WHERE run_id = $1) f
     WHERE r.run_id = $1 AND r.finished_at IS NULL
     RETURNING r.*`,
    [runId, checked],
  );
  if (rows[0]) return { run: toSummary(rows[0]), closedNow: true };
  const again = await pool.query<RunRow>('SELECT * FROM reconcile_runs WHERE run_id = $1', [runId]);
  return { run: again.rows[0] ? toSummary(again.rows[0]) : null, closedNow: false };
}

/** The newest finished run, or null before the first. */
export async function latestReconcileRun(pool: Pool): Promise<ReconcileRunSummary | null> {
  const { rows } = await pool.query<RunRow>('SELECT * FROM reconcile_runs WHERE finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT 1');
  return rows[0] ? toSummary(rows[0]) : null;
}
