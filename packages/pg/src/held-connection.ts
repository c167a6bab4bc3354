/**
 * A held connection: one object for a client in use by this package, whoever lent it (a
 * pg.Pool checkout, or the caller's own client through `wrapClient`), with one protocol to give
 * it up — `release()` when the work is over (the connection goes back only if it is healthy,
 * and, for a pool, outside any transaction; otherwise it is destroyed) or `destroy(err)` when it
 * must be closed now (the statement queue calls it through `Lane.markBroken`). Exactly one of
 * the two takes effect.
 *
 * Destroying means, for a pool, `client.release(err)` (pg-pool closes it and opens another
 * later); for a wrapped client, `client.end()` (the caller creates a new one).
 */
import type { ClientBase, Pool, PoolClient } from 'pg';
import { afterFunc, type Context } from '@ctxkit/core';
import { acquire } from './checkout.js';
import { txStatus } from './errors.js';
import { laneOf, type Holder, type Lane } from './lane.js';
import type { ResolvedOptions } from './options.js';

/** @internal See the module comment. */
export class HeldConnection implements Holder {
  readonly lane: Lane;
  private released = false;
  private readonly onError: ((err: Error) => void) | undefined;

  /**
   * Holds `client`: `pooled` when it came from `pool.connect` (this object then listens for its
   * 'error' event — a connection that dies while held must not crash the process — and gives it
   * back with `client.release`); else a client the caller owns (`wrapClient`).
   */
  constructor(
    readonly client: ClientBase,
    o: ResolvedOptions,
    private readonly pooled: boolean,
  ) {
    const lane = laneOf(client, o.cleanupTimeoutMs);
    this.lane = lane;
    if (pooled) {
      this.onError = (err) => lane.markBroken(err);
      client.on('error', this.onError);
    }
    lane.hold(this);
  }

  /** The work is over: back if the connection is healthy (and, pooled, idle), else destroyed. */
  release(): void {
    const broken = this.lane.broken;
    if (broken !== undefined) return this.giveUp(broken);
    if (this.pooled) {
      // The status is fresh: the statement queue hands results over only after ReadyForQuery.
      const status = txStatus(this.client);
      if (status === 'T' || status === 'E') return this.giveUp(new Error('@ctxkit/pg: connection left inside a transaction; destroyed'));
    }
    this.giveUp(undefined);
  }

  /** Closes the connection now, with `err` as the reason (see the module comment). */
  destroy(err: Error): void {
    this.giveUp(err);
  }

  private giveUp(err: Error | undefined): void {
    if (this.released) return;
    this.released = true;
    if (this.onError !== undefined) this.client.removeListener('error', this.onError);
    this.lane.unhold(this, err === undefined);
    if (this.pooled) (this.client as PoolClient).release(err);
    else if (err !== undefined) {
      const end = (this.client as { end?: () => Promise<void> | void }).end;
      if (typeof end === 'function') Promise.resolve(end.call(this.client)).catch(() => {});
    }
  }
}

/**
 * @internal A connection from `pool` for `ctx`, held (`HeldConnection`). When `ctx` ends first
 * it rejects with `ctx.err` and leaves the pool's queue (see `acquire`). The caller has checked
 * that `ctx` has not ended.
 */
export function checkout(pool: Pool, ctx: Context, o: ResolvedOptions): Promise<HeldConnection> {
  return new Promise((resolve, reject) => {
    let stop: (() => boolean) | undefined;
    let answered = false;
    const giveUp = acquire(pool, (err, client) => {
      answered = true;
      stop?.();
      if (err !== undefined) reject(err);
      else resolve(new HeldConnection(client!, o, true));
    });
    if (answered) return; // answered synchronously (pool ending)
    stop = afterFunc(ctx, () => {
      if (giveUp()) reject(ctx.err);
    });
  });
}
