/**
 * `@temporalio/workflow` as the payment workflow saw it before its pass became a local activity: `patched()` is
 * the real one, except that 'converge-in-local-activity' answers false and records nothing — the code that never
 * called it. Bundled in its place (test/payment-deploy.test.ts), it gives workers that run the previous release.
 */
import { patched as recordingPatched } from '@temporalio/workflow/lib/index.js';

export * from '@temporalio/workflow/lib/index.js';

export function patched(patchId: string): boolean {
  return patchId === 'converge-in-local-activity' ? false : recordingPatched(patchId);
}
