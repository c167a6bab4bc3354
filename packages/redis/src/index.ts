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

import type { Redis as IoredisClient } from 'ioredis';
import { type IoredisRedis, wrapRedis as wrapIoredis } from './ioredis.js';
import { isIoredisCluster, looksLikeIoredis } from './ioredis-shape.js';
import type { RedisOptions } from './options.js';

/**
 * Binds `client` to contexts, whichever client it is (detected by shape): an ioredis `Redis` gets
 * the adapter of `@ctxkit/redis/ioredis` (which never imports ioredis itself, so the root entry
 * loads without it). Throws `TypeError` for a client it does not recognise.
 */
export function wrapRedis(client: IoredisClient, options?: RedisOptions): IoredisRedis;
export function wrapRedis(client: unknown, options?: RedisOptions): unknown {
  if (looksLikeIoredis(client) || isIoredisCluster(client)) {
    return wrapIoredis(client as IoredisClient, options);
  }
  throw new TypeError('wrapRedis: client must be an ioredis Redis instance or a node-redis client');
}
