/** Checking a client out of a pg.Pool: the pool's wait queue, left when the caller gives up. */
import type { Pool, PoolClient } from 'pg';

/** @internal Called once with the checked-out client, or with the error. */
export type CheckoutCallback = (err: unknown, client: PoolClient | undefined) => void;

interface PendingItem {
  callback: unknown;
}

/**
 * Takes our waiter out of pg-pool's wait queue, so `pool.waitingCount` drops at once. pg-pool has
 * no public way to do it; when its internals differ, the waiter stays queued and the client it is
 * eventually handed is released at once (see `acquire`), which is also correct, only later.
 */
function leaveQueue(pool: Pool, cb: unknown): void {
  const q = (pool as unknown as { _pendingQueue?: unknown })._pendingQueue;
  if (!Array.isArray(q)) return;
  const i = q.findIndex((item: PendingItem) => item !== null && typeof item === 'object' && item.callback === cb);
  if (i >= 0) q.splice(i, 1);
}

/**
 * @internal Checks a client out of `pool` and calls `done` exactly once — unless the returned
 * `giveUp()` is called first: then `done` is never called, the waiter leaves the pool's queue,
 * and a client handed to it later (a connection that was being opened for it) goes straight
 * back to the pool, unused. `giveUp()` returns whether it prevented `done`.
 */
export function acquire(pool: Pool, done: CheckoutCallback): () => boolean {
  let waiting = true;
  const onConnect = (err: Error | undefined, client: PoolClient | undefined, release: (e?: Error | boolean) => void): void => {
    if (!waiting) {
      if (client !== undefined && !err) release();
      return;
    }
    waiting = false;
    if (err) done(err, undefined);
    else done(undefined, client);
  };
  pool.connect(onConnect as never);
  return () => {
    if (!waiting) return false;
    waiting = false;
    leaveQueue(pool, onConnect);
    return true;
  };
}
