/** `wrapPool`: a pg.Pool whose every checkout, statement and transaction obeys a context. */
import type { Pool, PoolClient, QueryResult } from 'pg';
import { startOperation, type Context } from '@ctxkit/core';
import { acquire } from './checkout.js';
import { txStatus } from './errors.js';
import { laneOf, type Lane } from './lane.js';
import { resolveOptions, type PgOptions, type ResolvedOptions } from './options.js';
import { beginQuery, type Queryable } from './query-config.js';
import { SessionTimeout } from './statement-timeout.js';
import { beginSql, runTransaction, type TransactionOptions, type Tx } from './transaction.js';

/**
 * A pg.Pool bound to contexts. Every method takes `ctx` first and:
 * - rejects with `ctx.err` at once, checking nothing out, when `ctx` has already ended;
 * - leaves the pool's wait queue when `ctx` ends while waiting for a connection;
 * - cancels the running statement in the server when `ctx` ends, waits until it has stopped,
 *   and rejects with `ctx.err`; the connection goes back to the pool only after a health check,
 *   else it is destroyed;
 * - passes a deadline to the server as `statement_timeout` (see `PgOptions`).
 */
export interface Db extends Queryable {
  /** The wrapped pool, for what this API does not cover (`end()`, events, counts). */
  readonly pool: Pool;
  /**
   * Checks out a connection, runs BEGIN, calls `fn(tx)`, and COMMITs when `fn` resolves while
   * `ctx` is live; resolves with `fn`'s value. ROLLBACK (on `withoutCancel(ctx)` with its own
   * timeout) when `fn` throws — the promise rejects with `fn`'s error — or when `ctx` ends — at
   * once, cancelling the running statement; the promise rejects with `ctx.err`. COMMIT, once
   * sent, is not interrupted by `ctx`; if the connection fails during COMMIT the promise rejects
   * with `CommitOutcomeUnknownError`. A server error from COMMIT (e.g. serialization failure)
   * passes through: nothing was committed. The connection returns to the pool only when the
   * server reports it idle and out of any transaction.
   */
  transaction<T>(ctx: Context, fn: (tx: Tx) => Promise<T> | T, options?: TransactionOptions): Promise<T>;
}

/**
 * Holds a checked-out client: listens for its 'error' event (a connection that dies while we hold
 * it must not crash the process) and releases it exactly once, destroying it when its lane broke
 * or it is not idle.
 */
class Checkout {
  readonly lane: Lane;
  private released = false;
  private readonly onError: (err: Error) => void;

  constructor(
    readonly client: PoolClient,
    o: ResolvedOptions,
  ) {
    const lane = (this.lane = laneOf(client, o.cleanupTimeoutMs));
    this.onError = (err) => lane.markBroken(err);
    client.on('error', this.onError);
    lane.destroy = (err) => this.release(err);
    lane.enter();
  }

  /** Back to the pool if the connection is healthy and idle, else destroyed. */
  finish(): void {
    const broken = this.lane.broken;
    if (broken !== undefined) return this.release(broken);
    // After a successful statement the status is fresh; after a failed one it is the previous
    // (idle) status — node-postgres reports errors before ReadyForQuery.
    const status = txStatus(this.client);
    if (status === 'T' || status === 'E') {
      return this.release(new Error('@ctxkit/pg: connection left inside a transaction; destroyed'));
    }
    this.release(undefined);
  }

  release(err: Error | undefined): void {
    if (this.released) return;
    this.released = true;
    this.client.removeListener('error', this.onError);
    this.lane.destroy = undefined;
    if (err === undefined) this.lane.leave(); // guards a statement_timeout of ours against plain pool users
    this.client.release(err);
  }
}

function checkPool(pool: unknown): asserts pool is Pool {
  const p = pool as { connect?: unknown; query?: unknown } | null;
  if (p === null || typeof p !== 'object' || typeof p.connect !== 'function' || typeof p.query !== 'function') {
    throw new TypeError(`wrapPool: pool must be a pg.Pool, got ${p === null ? 'null' : typeof p}`);
  }
}

/**
 * Binds `pool` (a pg.Pool) to contexts; see `Db`. `options` tune the server-side timeout and the
 * cleanup bound (`PgOptions`). The pool stays usable directly; statements sent around this
 * wrapper simply get none of its guarantees. Throws `TypeError` on a bad pool or options.
 */
export function wrapPool(pool: Pool, options?: PgOptions): Db {
  checkPool(pool);
  const o = resolveOptions(options, 'wrapPool');
  const need = new SessionTimeout(o);

  function checkout(ctx: Context): Promise<Checkout> {
    return new Promise((resolve, reject) => {
      acquire(pool, ctx, (err, client) => (err !== undefined ? reject(err) : resolve(new Checkout(client!, o))));
    });
  }

  function query(ctx: Context, text: unknown, values?: unknown): Promise<any> {
    const begun = beginQuery(ctx, 'db.query', text, values);
    if (begun instanceof Promise) return begun;
    const { op, config } = begun;
    return new Promise((resolve, reject) => {
      acquire(pool, ctx, (err, client) => {
        if (err !== undefined) {
          op.end(err);
          return reject(err);
        }
        const co = new Checkout(client!, o);
        const deliver = (e: unknown, res: QueryResult | undefined): void => {
          if (e !== undefined) {
            op.end(e);
            reject(e);
          } else {
            op.end();
            resolve(res);
          }
        };
        // The server-side timeout (if any) is set, or kept, right before the statement starts.
        co.lane.exec(
          ctx,
          config,
          undefined,
          (e, res) => {
            co.finish();
            deliver(e, res);
          },
          need,
        );
      });
    });
  }

  async function transaction<T>(ctx: Context, fn: (tx: Tx) => Promise<T> | T, options?: TransactionOptions): Promise<T> {
    const op = startOperation(ctx, 'pg.transaction');
    try {
      const ended = ctx.err;
      if (ended !== undefined) throw ended;
      if (typeof fn !== 'function') throw new TypeError(`db.transaction: fn must be a function, got ${typeof fn}`);
      const begin = beginSql(options);
      const co = await checkout(ctx);
      let value: T;
      try {
        value = await runTransaction(co.lane, ctx, fn, begin, o);
      } finally {
        co.finish();
      }
      op.end();
      return value;
    } catch (e) {
      op.end(e);
      throw e;
    }
  }

  return { pool, query, transaction } as Db;
}
