/**
 * `@temporalio/workflow` with a `patched()` that always answers true and records nothing: bundled in its place
 * (test/workflow-replay.test.ts aliases the module for the payment workflow's bundle), it turns the current
 * workflow code into "the same changes made without their patches". Replaying a run recorded before those
 * changes then shows whether the patches are what keeps it replaying.
 */
export * from '@temporalio/workflow/lib/index.js';

export function patched(_patchId: string): boolean {
  return true;
}
