import type { History } from '@temporalio/common/lib/proto-utils.js';
import { tsToMs } from '@temporalio/common/lib/time.js';
import { temporal } from '@temporalio/proto';

/**
 * What a workflow history holds, read from its events: what the replay fixtures and the long-wait tests assert
 * about a run (its shape, its timers, where it continued as new).
 */

const EventType = temporal.api.enums.v1.EventType;

/** The history's event types, short: `TIMER_FIRED`, `ACTIVITY_TASK_SCHEDULED`, `WORKFLOW_EXECUTION_SIGNALED`, … */
export const eventTypesOf = (history: History): string[] =>
  (history.events ?? []).map((e) => (EventType[e.eventType ?? 0] ?? `UNKNOWN_${e.eventType}`).replace(/^EVENT_TYPE_/, ''));

/** How many events of `type` (short name) the history holds. */
export const countEvents = (history: History, type: string): number => eventTypesOf(history).filter((t) => t === type).length;

/** The duration of every timer the run started, in ms, in order. */
export const timerDurationsMs = (history: History): number[] =>
  (history.events ?? []).filter((e) => e.timerStartedEventAttributes).map((e) => tsToMs(e.timerStartedEventAttributes!.startToFireTimeout));

/** The durations (ms) of the timers that fired: the time the run spent waiting on its own clock. */
export function firedTimerDurationsMs(history: History): number[] {
  const started = new Map<string, number>();
  const fired: number[] = [];
  for (const e of history.events ?? []) {
    const s = e.timerStartedEventAttributes;
    if (s?.timerId) started.set(s.timerId, tsToMs(s.startToFireTimeout));
    const f = e.timerFiredEventAttributes;
    if (f?.timerId && started.has(f.timerId)) fired.push(started.get(f.timerId)!);
  }
  return fired;
}

/** The patch ids the run recorded, in order (`patched('…')` markers: name `core_patch`, JSON `{id, deprecated}`). */
export const patchIdsOf = (history: History): string[] =>
  (history.events ?? [])
    .filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')
    .map((e) => {
      const payload = e.markerRecordedEventAttributes!.details?.['patch-data']?.payloads?.[0];
      const data = payload?.data ? (JSON.parse(Buffer.from(payload.data).toString('utf8')) as { id?: unknown }) : null;
      return String(data?.id ?? '');
    });

/** The run id the run continued as, when it ended by continue-as-new. */
export const continuedAsRunId = (history: History): string | null =>
  (history.events ?? []).find((e) => e.workflowExecutionContinuedAsNewEventAttributes)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? null;

/** The run's input (its first argument), decoded from the JSON payload of its start event. */
export function workflowInputOf<T = unknown>(history: History): T {
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload?.data) throw new Error('the history starts with no workflow input');
  return JSON.parse(Buffer.from(payload.data).toString('utf8')) as T;
}


/**
 * How many payment passes (`convergePayment`) completed: as an activity (ACTIVITY_TASK_COMPLETED) in runs before
 * the pass became a local activity, as a `core_local_activity` marker without a failure since.
 */
export function completedPassesOf(history: History): number {
  let passes = countEvents(history, 'ACTIVITY_TASK_COMPLETED');
  for (const e of history.events ?? []) {
    const marker = e.markerRecordedEventAttributes;
    if (marker?.markerName !== 'core_local_activity' || marker.failure) continue;
    const data = marker.details?.data?.payloads?.[0]?.data;
    const meta = data ? (JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type?: string }) : {};
    if (meta.activity_type === 'convergePayment') passes++;
  }
  return passes;
}
