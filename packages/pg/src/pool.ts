/**
 * `wrapPool`: a pg.Pool whose every checkout, statement and transaction obeys a context. A thin
 * user of the pieces: core's `operation` (fail fast, hooks, settle once), held-connection.ts
 * (checkout, release or destroy), lane.ts (the statement queue), transaction.ts.
 */
import type { Pool, PoolClient, QueryResult } from 'pg';
import { operation, type Context, type OperationSettle } from '@ctxkit/core';
import { acquire } from './checkout.js';
import { checkout, HeldConnection } from './held-connection.js';
import type { Job, Lane } from './lane.js';
import { resolveOptions, type PgOptions, type ResolvedOptions } from './options.js';
import { toConfig, UNTIL_SETTLED, type Queryable, type Sendable } from './query-config.js';
import { SessionTimeout } from './statement-timeout.js';
import { beginSql, runOperation, runTransaction, type TransactionOptions, type Tx } from './transaction.js';

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
 * One `db.query`: the teardown of its operation. While a connection is awaited, a cancel leaves
 * the pool's queue and the operation rejects with `ctx.err` at once; once the statement is on
 * the connection's queue, a cancel goes to the queue (which stops it in the server) and the
 * operation settles when the queue reports.
 */
class PoolQueryOperation {
  private job: Job | undefined = undefined;
  private lane: Lane | undefined = undefined;
  private readonly giveUp: () => boolean;

  constructor(
    pool: Pool,
    private readonly ctx: Context,
    private readonly config: Sendable,
    private readonly need: SessionTimeout,
    private readonly o: ResolvedOptions,
    private readonly settle: OperationSettle<QueryResult>,
  ) {
    this.giveUp = acquire(pool, (err, client) => this.onClient(err, client));
  }

  private onClient(err: unknown, client: PoolClient | undefined): void {
    if (err !== undefined) return this.settle.reject(err);
    const held = new HeldConnection(client!, this.o, true);
    this.lane = held.lane;
    // The server-side timeout (if any) is set, or kept, right before the statement starts.
    this.job = held.lane.exec(
      this.ctx,
      this.config,
      undefined,
      (e, res) => {
        held.release();
        if (e !== undefined) this.settle.reject(e);
        else this.settle.resolve(res!);
      },
      this.need,
      false,
    );
  }

  cancel(): PromiseLike<never> | undefined {
    if (this.job === undefined) {
      this.giveUp();
      return undefined;
    }
    this.lane!.cancel(this.job);
    return UNTIL_SETTLED;
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

  function query(ctx: Context, text: unknown, values?: unknown): Promise<any> {
    return operation<QueryResult>(
      ctx,
      'pg.query',
      (settle) => new PoolQueryOperation(pool, ctx, toConfig('db.query', text, values), need, o, settle),
    );
  }

  function transaction<T>(ctx: Context, fn: (tx: Tx) => Promise<T> | T, options?: TransactionOptions): Promise<T> {
    return runOperation(ctx, 'pg.transaction', async () => {
      if (typeof fn !== 'function') throw new TypeError(`db.transaction: fn must be a function, got ${typeof fn}`);
      const begin = beginSql(options);
      const held = await checkout(pool, ctx, o);
      try {
        return await runTransaction(held.lane, ctx, fn, begin, o);
      } finally {
        held.release();
      }
    });
  }

  return { pool, query, transaction } as Db;
}
