/**
 * Transactions and savepoints on one connection (a lane).
 *
 * - BEGIN … COMMIT around the callback; ROLLBACK when the callback throws or the transaction's
 *   context ends (at once: the running statement is cancelled in the server, queued ones are
 *   dropped), run on `withoutCancel(ctx)` with its own `cleanupTimeoutMs`.
 * - COMMIT, once sent, is never interrupted; a connection failure during COMMIT gives
 *   `CommitOutcomeUnknownError`.
 * - A savepoint is the same shape one level down: ROLLBACK TO SAVEPOINT when its callback throws
 *   or its context ends, and the enclosing transaction carries on.
 * - `tx.query`, `tx.savepoint` and `db.transaction` are core `operation`s (fail fast, hooks,
 *   settle once); the statement_timeout of the transaction is statement-timeout.ts's business
 *   (`TxTimeoutState`, `beginWithTimeout`, `TX_TIMEOUT`).
 */
import type { QueryResult } from 'pg';
import { afterFunc, operation, withTimeout, withoutCancel, type Context, asError } from '@ctxkit/core';
import type { Lane } from './lane.js';
import type { ResolvedOptions } from './options.js';
import { sql, toConfig, UNTIL_SETTLED, type Queryable } from './query-config.js';
import { beginWithTimeout, TX_TIMEOUT, TxTimeoutState, type TimeoutScope } from './statement-timeout.js';
import { CommitOutcomeUnknownError, TransactionRolledBackError, isConnectionFailure, isServerError, txStatus } from './errors.js';

/** SQL isolation levels, as written after `ISOLATION LEVEL`. */
export type IsolationLevel = 'read uncommitted' | 'read committed' | 'repeatable read' | 'serializable';

/** How to BEGIN. Omitted members leave the server's defaults. */
export interface TransactionOptions {
  isolationLevel?: IsolationLevel;
  /** `true` → READ ONLY, `false` → READ WRITE. */
  readOnly?: boolean;
}

/**
 * The handle a transaction (or savepoint) callback receives. Valid only until the callback's
 * promise settles; afterwards every call rejects. Statements run one at a time, in call order.
 * While a savepoint is open, use its handle: the enclosing handle rejects new work until the
 * savepoint's callback settles.
 */
export interface Tx extends Queryable {
  /**
   * Runs `fn` inside `SAVEPOINT`: when `fn` resolves (and `ctx` is live) the savepoint is
   * released and its work stays part of the transaction; when `fn` throws or `ctx` ends, the
   * work is undone with ROLLBACK TO SAVEPOINT and the promise rejects (with `fn`'s error, or
   * `ctx.err`), while the enclosing transaction continues and can still commit.
   */
  savepoint<T>(ctx: Context, fn: (sp: Tx) => Promise<T> | T): Promise<T>;
}

const LEVELS = new Set<string>(['read uncommitted', 'read committed', 'repeatable read', 'serializable']);

/** @internal The BEGIN statement for `options`; throws `TypeError` on bad options. */
export function beginSql(options: TransactionOptions | undefined): string {
  if (options === undefined) return 'BEGIN';
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`transaction: options must be an object, got ${options === null ? 'null' : typeof options}`);
  }
  let sql = 'BEGIN';
  const { isolationLevel, readOnly } = options;
  if (isolationLevel !== undefined) {
    if (typeof isolationLevel !== 'string' || !LEVELS.has(isolationLevel.toLowerCase())) {
      throw new TypeError(
        `transaction: options.isolationLevel must be one of ${[...LEVELS].map((l) => `'${l}'`).join(', ')}, got ${JSON.stringify(isolationLevel)}`,
      );
    }
    sql += ` ISOLATION LEVEL ${isolationLevel.toUpperCase()}`;
  }
  if (readOnly !== undefined) {
    if (typeof readOnly !== 'boolean') throw new TypeError(`transaction: options.readOnly must be a boolean, got ${typeof readOnly}`);
    sql += readOnly ? ' READ ONLY' : ' READ WRITE';
  }
  return sql;
}

/** What every scope of one transaction shares. */
interface TxState {
  readonly lane: Lane;
  readonly o: ResolvedOptions;
  /** The transaction's statement_timeout (statement-timeout.ts reads and writes it). */
  readonly timeout: TxTimeoutState;
  savepoints: number;
}

/** A failure that must reach the caller unchanged although the operation was cancelled. */
class PassThrough {
  constructor(readonly error: unknown) {}
}

function unwrap<T>(v: T | PassThrough): T {
  if (v instanceof PassThrough) throw v.error;
  return v;
}

/**
 * @internal Runs `work` as a core `operation` on `ctx` labelled `label` (fail fast with `ctx.err`,
 * reported to the hooks, settled once). The transaction machinery watches `ctx` itself — it
 * rolls back at once, and never interrupts a COMMIT once sent — so a cancel only waits for
 * `work`, whose outcome reaches the caller unchanged: a COMMIT that failed after `ctx` ended is
 * reported as that failure (e.g. `CommitOutcomeUnknownError`), not as a cancellation.
 */
export function runOperation<T>(ctx: Context, label: string, work: () => Promise<T>): Promise<T> {
  let cancelled = false;
  return operation<T | PassThrough>(ctx, label, (settle) => {
    work().then(
      (v) => settle.resolve(v),
      (e: unknown) => (cancelled ? settle.resolve(new PassThrough(e)) : settle.reject(e)),
    );
    return () => {
      cancelled = true;
      return UNTIL_SETTLED;
    };
  }).then(unwrap);
}

/**
 * Runs the callback of a transaction or savepoint `scope`. When `ctx` ends while it runs, the
 * scope is marked ended, its statements are interrupted and `undo` (the rollback) starts at once;
 * when the callback throws, `undo` runs and the error is rethrown; when `ctx` ended by the time
 * the callback returns, `undo` runs and `ctx.err` is thrown. Otherwise the scope is marked
 * finished and the callback's value returned, for the caller to COMMIT or RELEASE.
 */
async function runUndoable<T>(
  ctx: Context,
  scope: TxScope,
  lane: Lane,
  undo: () => Promise<void>,
  fn: (s: Tx) => Promise<T> | T,
): Promise<T> {
  const stop = afterFunc(ctx, () => {
    if (scope.endedWith !== undefined) return;
    scope.endedWith = ctx.err;
    lane.interrupt(scope, ctx.err);
    void undo();
  });
  let value: T;
  try {
    value = await fn(scope);
  } catch (e) {
    stop();
    scope.endedWith ??= FINISHED;
    await undo();
    throw e;
  }
  stop();
  if (scope.endedWith !== undefined || ctx.err !== undefined) {
    scope.endedWith ??= ctx.err;
    await undo();
    throw ctx.err;
  }
  scope.endedWith = FINISHED;
  return value;
}

class TxScope implements TimeoutScope, Tx {
  private ended: unknown = undefined;
  /** Why this scope is over (undefined while open); the error is made on first read. */
  get endedWith(): unknown {
    if (this.ended === FINISHED) this.ended = finishedError();
    return this.ended;
  }
  set endedWith(why: unknown) {
    this.ended = why;
  }
  /** True while a savepoint opened on this scope runs. */
  busy = false;
  get timeout(): TxTimeoutState {
    return this.state.timeout;
  }

  constructor(
    readonly state: TxState,
    readonly ctx: Context,
    readonly parent: TxScope | undefined,
  ) {}

  /** Why no new work may start here, or undefined. */
  private blocked(ctx: Context): unknown {
    if (ctx.err !== undefined) return ctx.err;
    for (let s: TxScope | undefined = this; s !== undefined; s = s.parent) {
      if (s.endedWith !== undefined) return s.endedWith;
      if (s.ctx.err !== undefined) return s.ctx.err;
    }
    if (this.busy)
      return new Error(
        '@ctxkit/pg: a savepoint is open on this transaction; run statements through the savepoint handle until its callback settles',
      );
    return undefined;
  }

  query(ctx: Context, text: unknown, values?: unknown): Promise<any> {
    return operation<QueryResult>(ctx, 'pg.query', (settle) => {
      const why = this.blocked(ctx);
      if (why !== undefined) throw why;
      const config = toConfig('tx.query', text, values);
      const lane = this.state.lane;
      // The SET LOCAL this statement needs (if any) is decided and sent right before it starts.
      const job = lane.exec(ctx, config, this, (e, res) => (e !== undefined ? settle.reject(e) : settle.resolve(res!)), TX_TIMEOUT, false);
      return () => {
        lane.cancel(job);
        return UNTIL_SETTLED;
      };
    });
  }

  savepoint<T>(ctx: Context, fn: (sp: Tx) => Promise<T> | T): Promise<T> {
    return runOperation(ctx, 'pg.savepoint', () => this.runSavepoint(ctx, fn));
  }

  private async runSavepoint<T>(ctx: Context, fn: (sp: Tx) => Promise<T> | T): Promise<T> {
    const why = this.blocked(ctx);
    if (why !== undefined) throw why;
    if (typeof fn !== 'function') throw new TypeError(`tx.savepoint: fn must be a function, got ${typeof fn}`);
    const state = this.state;
    const { lane, o } = state;
    const name = `ctxkit_sp_${++state.savepoints}`;
    const mark = state.timeout.mark();
    this.busy = true;
    try {
      await lane.run(ctx, sql(`SAVEPOINT ${name}`), this);
      const sp = new TxScope(state, ctx, this);
      let undoing: Promise<void> | undefined;
      const undo = (): Promise<void> =>
        (undoing ??= (async () => {
          const s = withTimeout(withoutCancel(ctx), o.cleanupTimeoutMs);
          try {
            await lane.run(s.ctx, sql(`ROLLBACK TO SAVEPOINT ${name}; RELEASE SAVEPOINT ${name}`), this);
            state.timeout.restore(mark); // SET LOCAL made inside the savepoint was undone with it
          } catch {
            // The enclosing transaction ended meanwhile, or is now aborted in the server (its next
            // statement fails, and COMMIT gives TransactionRolledBackError), or the lane broke.
            // The caller gets the error that made us undo, not this one.
          } finally {
            s.cancel();
          }
        })());
      const value = await runUndoable(ctx, sp, lane, undo, fn);
      const s = withTimeout(withoutCancel(ctx), o.cleanupTimeoutMs);
      try {
        await lane.run(s.ctx, sql(`RELEASE SAVEPOINT ${name}`), this);
      } finally {
        s.cancel();
      }
      return value;
    } finally {
      this.busy = false;
    }
  }
}

/**
 * Marks a scope whose callback returned. The error users see is made only when a finished handle
 * is actually used (an Error costs a stack capture; most transactions never need it).
 */
const FINISHED: unique symbol = Symbol('finished');

function finishedError(): Error {
  return new Error('@ctxkit/pg: this transaction handle is finished: its callback already returned');
}

/** ROLLBACK on `withoutCancel(ctx)` with its own timeout; a failure breaks the connection. */
async function rollback(lane: Lane, ctx: Context, o: ResolvedOptions): Promise<void> {
  if (lane.broken !== undefined || txStatus(lane.client) === 'I') return;
  const s = withTimeout(withoutCancel(ctx), o.cleanupTimeoutMs);
  try {
    await lane.run(s.ctx, sql('ROLLBACK'), undefined);
  } catch (e) {
    lane.markBroken(asError(e));
  } finally {
    s.cancel();
  }
}

/**
 * COMMIT on `withoutCancel(ctx)`: once sent, the end of ctx does not interrupt it. (Nor does a
 * `SET LOCAL statement_timeout` of ours: PostgreSQL disables the statement timeout before it
 * performs the commit itself.) Resolves with COMMIT's result.
 */
function commit(lane: Lane, ctx: Context): Promise<QueryResult> {
  return new Promise((resolve, reject) => {
    lane.exec(withoutCancel(ctx), sql('COMMIT'), undefined, (err, res, sent) => {
      if (err === undefined) return resolve(res!);
      if (!sent) return reject(err); // never reached the server: the transaction was rolled back
      if (isServerError(err) && !isConnectionFailure(err, lane.client)) return reject(err); // definite failure
      lane.markBroken(asError(err));
      reject(new CommitOutcomeUnknownError(err));
    });
  });
}

/**
 * @internal Runs `fn` in a transaction on `lane` (a client checked out for it). Settles when the
 * transaction is over: committed (resolves with `fn`'s value), rolled back (rejects), or the
 * connection broken (`lane.broken`; the caller destroys it).
 */
export async function runTransaction<T>(
  lane: Lane,
  ctx: Context,
  fn: (tx: Tx) => Promise<T> | T,
  begin: string,
  o: ResolvedOptions,
): Promise<T> {
  const state: TxState = { lane, o, timeout: new TxTimeoutState(o, lane.timeout), savepoints: 0 };
  begin = await beginWithTimeout(lane, ctx, begin, state.timeout);
  const tx = new TxScope(state, ctx, undefined);
  try {
    await lane.run(ctx, sql(begin), undefined);
  } catch (e) {
    await rollback(lane, ctx, o); // BEGIN may have run before the cancel landed
    throw e;
  }
  let rollingBack: Promise<void> | undefined;
  const undo = (): Promise<void> => (rollingBack ??= rollback(lane, ctx, o));
  const value = await runUndoable(ctx, tx, lane, undo, fn);
  if (lane.broken !== undefined) throw lane.broken; // the connection died before COMMIT: nothing committed
  const res = await commit(lane, ctx);
  if (res.command === 'ROLLBACK') throw new TransactionRolledBackError();
  return value;
}
