import { ScheduleAlreadyRunning, ScheduleNotFoundError, type Client, type ScheduleOptions } from '@temporalio/client';

type ScheduleDefinition = Omit<ScheduleOptions, 'scheduleId'>;

/**
 * Makes sure a Temporal Schedule exists with this definition, from any number of workers at once: created if
 * missing, otherwise updated to the definition while keeping its state (a paused schedule stays paused) and its
 * first start. `firstStartAt`, for a new schedule only, holds its first run back (an interval schedule aligned to
 * the clock could otherwise fire seconds after a worker starts).
 */
export async function ensureSchedule(client: Client, scheduleId: string, wanted: ScheduleDefinition, firstStartAt?: Date): Promise<string> {
  try {
    await client.schedule.create({ scheduleId, ...wanted, ...(firstStartAt ? { spec: { ...wanted.spec, startAt: firstStartAt } } : {}) });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(scheduleId).update((previous) => ({
      ...wanted,
      spec: { ...wanted.spec, ...(previous.spec.startAt ? { startAt: previous.spec.startAt } : {}) },
      state: previous.state,
    }));
  }
  return scheduleId;
}

/** Removes a schedule a configuration turned off (`…=off`); a missing one is fine. */
export async function removeSchedule(client: Client, scheduleId: string): Promise<void> {
  try {
    await client.schedule.getHandle(scheduleId).delete();
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
}
