/**
 * @ctxkit/core/diagnostics — read-only counters for tests and leak checks. They walk internal
 * structures, so they cost O(n); do not call them on hot paths.
 */
import { linkedCount } from './context.js';
import { queuedDeadlines } from './deadline-queue.js';
import type { Context } from './context.js';

/**
 * How many live children and pending callbacks (`afterFunc`, `sleep`, `race`, `fromSignal`
 * listeners of descendants…) are linked under `ctx`'s nearest cancellable ancestor. Ended
 * children are never counted: they are unlinked at once. 0 for contexts that never end.
 */
export function linkedChildren(ctx: Context): number {
  return linkedCount(ctx);
}

/** How many contexts have an own deadline queued in the shared deadline timer right now. */
export function pendingDeadlines(): number {
  return queuedDeadlines();
}
