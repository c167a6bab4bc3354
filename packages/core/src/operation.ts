/**
 * `operation`: the one way to bind a unit of work to a context. Every helper and integration that
 * waits on something for a context (sleep, race, fetch, a SQL statement, a Redis command, a queue
 * publish) is written on it, so the rules below hold everywhere without being written again.
 *
 * Rules of use:
 * - Fail fast: when `ctx` has already ended, the work is not started (the executor is not
 *   called) and the promise rejects with `ctx.err`. Nothing touches the network.
 * - Report: the work is reported to core's hooks (`startOperation`) before anything else, and the
 *   report ends exactly once, when the returned promise settles. That is what leak checks, the
 *   explorer and the inspector see.
 * - Settle once: the first settlement wins; later `resolve`/`reject` calls are ignored.
 * - Cancel: when `ctx` ends first, the executor's `cancel(err)` runs synchronously inside the
 *   `cancel()` that ended it. It stops the far side. If it returns nothing, the operation rejects
 *   with `ctx.err` at once. If it returns a promise, the operation stays pending until that promise
 *   settles (then rejects with `ctx.err`) or the work settles first: a result the work still
 *   delivers wins (a COMMIT that completed is a commit), an error it delivers becomes `ctx.err`
 *   (the one error check callers make).
 * - Release: `release()` runs exactly once, on every path, right before the promise settles, and
 *   core's own listener on `ctx` is gone by then. A long-lived context accumulates nothing.
 */
import { describeValue } from './describe.js';
import type { Context } from './context.js';
import type { ContextError } from './errors.js';
import { type OperationHandle, startOperation } from './hooks.js';
import { attach, checkContext, Observer } from './internal.js';

/** How an executor settles its operation. Only the first call counts; later ones are ignored. */
export interface OperationSettle<T> {
  /** The work succeeded with `value` (a promise is followed until it settles). */
  resolve(value: T | PromiseLike<T>): void;
  /** The work failed with `error`. */
  reject(error: unknown): void;
}

/**
 * What an executor returns so the operation can stop it and clean up after it.
 * - `cancel(err)`: `ctx` ended before the work settled. Stop the far side, synchronously; return a
 *   promise when stopping takes time and the caller must wait for it (see `operation`).
 * - `release()`: the operation has settled, whichever way. Remove your own listeners and timers.
 * A bare function is the same as `{ cancel: fn }`.
 */
export type OperationTeardown =
  | ((err: ContextError) => void | PromiseLike<unknown>)
  | {
      cancel?(err: ContextError): void | PromiseLike<unknown>;
      release?(): void;
    };

/** The executor of `operation`: starts the work and says how to stop it. */
export type OperationExecutor<T> = (settle: OperationSettle<T>) => OperationTeardown | undefined | void;

const PENDING = 0;
const CANCELING = 1;
const SETTLED = 2;

type Resolver = (v: unknown) => void;

let nextResolve: Resolver | undefined;
let nextReject: Resolver | undefined;
/** Shared Promise executor: saves the resolving functions without a closure per operation. */
function capture(resolve: Resolver, reject: Resolver): void {
  nextResolve = resolve;
  nextReject = reject;
}

/**
 * One running operation: the observer core notifies when its context ends (no closure per
 * operation), and the settle object its executor gets.
 */
class BoundOperation<T> extends Observer implements OperationSettle<T> {
  _phase = PENDING;
  _teardown: OperationTeardown | undefined = undefined;
  _resolveP: Resolver;
  _rejectP: Resolver;

  constructor(
    readonly _ctx: Context,
    readonly _op: OperationHandle,
  ) {
    super(noop, true);
    this._resolveP = nextResolve!;
    this._rejectP = nextReject!;
  }

  resolve(value: T | PromiseLike<T>): void {
    if (this._phase === SETTLED) return;
    if (isThenable(value)) {
      value.then(
        (v) => this._finish(true, v),
        (e: unknown) => this._finish(false, e),
      );
      return;
    }
    this._finish(true, value);
  }

  reject(error: unknown): void {
    if (this._phase === SETTLED) return;
    this._finish(false, error);
  }

  /** The context ended while the work was pending. */
  override _fire(): void {
    if (this._phase !== PENDING) return;
    const err = this._ctx.err!;
    const t = this._teardown;
    const cancel = typeof t === 'function' ? t : t?.cancel;
    let waiting: unknown;
    if (cancel !== undefined) {
      this._phase = CANCELING;
      try {
        waiting = typeof t === 'function' ? cancel(err) : cancel.call(t, err);
      } catch {
        waiting = undefined; // a cancel that throws has done all it could: the caller gets ctx.err
      }
    }
    if (isThenable(waiting)) {
      const give = (): void => this._finish(false, err);
      waiting.then(give, give);
      return;
    }
    this._finish(false, err);
  }

  _finish(ok: boolean, v: unknown): void {
    if (this._phase === SETTLED) return;
    const canceling = this._phase === CANCELING;
    this._phase = SETTLED;
    this._stop();
    // While the far side was being stopped, a failure is the cancellation's doing: report ctx.err.
    if (!ok && canceling) v = this._ctx.err;
    const t = this._teardown;
    this._teardown = undefined;
    if (t !== undefined && typeof t !== 'function' && t.release !== undefined) {
      try {
        t.release();
      } catch {
        // release must not turn a settled operation into a different outcome
      }
    }
    if (ok) {
      this._op.end();
      this._resolveP(v);
    } else {
      this._op.end(v);
      this._rejectP(v);
    }
  }
}

function noop(): void {}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as PromiseLike<unknown>).then === 'function';
}

/**
 * Runs the work that `executor` starts as an operation bound to `ctx`, labelled `label` for the
 * hooks (e.g. `'pg.query'`, `'redis GET'`), and returns a promise that settles with the work's
 * outcome or rejects with `ctx.err` when `ctx` ends first. See this module's rules of use: it
 * fails fast without calling `executor` when `ctx` has ended, reports to the hooks, settles once,
 * calls the teardown's `cancel` when `ctx` ends first and `release` on every path.
 *
 * `executor` runs synchronously. A throw from it rejects the operation with what was thrown.
 * Throws `TypeError` synchronously for a non-Context `ctx`, a non-string `label` or a non-function
 * `executor` (bugs in the caller, not outcomes of the work).
 */
export function operation<T>(ctx: Context, label: string, executor: OperationExecutor<T>): Promise<T> {
  checkContext(ctx, typeof label === 'string' ? label : 'operation');
  if (typeof label !== 'string') throw new TypeError(`operation: label must be a string, got ${describeValue(label)}`);
  if (typeof executor !== 'function') throw new TypeError(`${label}: executor must be a function, got ${describeValue(executor)}`);
  const op = startOperation(ctx, label);
  const err = ctx.err;
  if (err !== undefined) {
    op.end(err);
    return Promise.reject(err);
  }
  const p = new Promise<T>(capture as (resolve: (v: T) => void, reject: (e: unknown) => void) => void);
  const run = new BoundOperation<T>(ctx, op);
  nextResolve = nextReject = undefined;
  let t: OperationTeardown | undefined | void;
  try {
    t = executor(run);
  } catch (e) {
    run._finish(false, e);
    return p;
  }
  if (run._phase === SETTLED) {
    // Settled inside the executor: nothing to observe; release what it set up.
    if (t != null && typeof t !== 'function' && t.release !== undefined) {
      try {
        t.release();
      } catch {
        // as in _finish
      }
    }
    return p;
  }
  if (t != null) run._teardown = t;
  attach(ctx, run);
  return p;
}
