/**
 * @ctxkit/redis — Redis commands bound to contexts, for ioredis and node-redis (`redis` ≥ 5).
 *
 * Rules of use:
 * - Pass `ctx` first to every call; a call on an ended context rejects with `ctx.err` and
 *   sends nothing.
 * - One check covers every cancellation: `isContextError(e)` from @ctxkit/core. Errors from Redis
 *   or the client pass through unchanged.
 * - A command cancelled after it was written may still have taken effect on the server (as when a
 *   network fails); its reply is read and discarded so the connection stays in sync.
 * - Blocking commands go through `blocking(ctx)`, which runs them on dedicated connections and
 *   unblocks them on the server when the context ends.
 */
export type { RedisOptions } from './options.js';
export { ExecOutcomeUnknownError } from './errors.js';
export { isBlocking } from './blocking-plan.js';
