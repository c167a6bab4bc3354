/**
 * @ctxkit/testing — prove that nothing outlives its cancellation.
 *
 * - `useManualClock`: drive deadlines, `sleep` and integration timers by hand.
 * - `trackContexts` / `leakCheckAfterAll` / `track`: live contexts, lost cancels, zombie work.
 * - `exploreCancellation` / `assertCancellationSafe`: re-run code cancelling it at every point.
 * - `expectCanceled`: the promise rejects with a context error (exactly `ctx.err`).
 *
 * Framework-agnostic: imports no test runner; works under node:test, Vitest and Jest.
 */
export { useManualClock, type ManualClock } from './manual-clock.js';
export {
  trackContexts,
  leakCheckAfterAll,
  track,
  LeakError,
  type Leak,
  type LeakReport,
  type TrackOptions,
  type ContextTracker,
} from './tracker.js';
export { expectCanceled } from './expect.js';
export {
  exploreCancellation,
  assertCancellationSafe,
  CancellationSafetyError,
  type ExploreOptions,
  type ExploreResult,
  type CancellationFailure,
} from './explore.js';
