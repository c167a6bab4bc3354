/**
 * The server-side `statement_timeout`: the one module that decides it, sends it and remembers
 * it. A newcomer looking for "who guarantees that a statement with no deadline never runs under
 * our `statement_timeout`" finds every piece here (the rules themselves, pure, in
 * timeout-plan.ts):
 *
 * 1. Before each wrapped statement outside a transaction (`SessionTimeout`) or inside one
 *    (`TxTimeout`), right before it is sent, `planTimeout` decides from the value in force:
 *    keep it, `SET` one that fits the statement's window, or `SET` the session's own value back
 *    (a statement without a deadline while a value of ours is in force).
 * 2. At BEGIN (`beginWithTimeout`): `SET LOCAL` in the same message when the transaction's
 *    deadline does not fit the connection's value, or the session's own value back when the
 *    transaction has none; a savepoint rolled back restores the value recorded before it
 *    (`TxTimeoutState.mark`/`restore`), since its `SET LOCAL` was undone with it.
 * 3. While no wrapper holds the connection (`ConnectionTimeout.guard`): whoever uses the client
 *    next outside this package first gets the session's own value back.
 *
 * Invariants: a statement never runs under a value below R + margin (unless the session's own
 * configured `statement_timeout` is stricter: that one is never raised), nor above
 * R + margin + slack; a statement without a deadline never runs under a value of ours. The
 * values recorded here (`ConnectionTimeout`, `TxTimeoutState`) are read and written by this
 * module only; the statement queue (lane.ts) merely calls the `TimeoutNeed` hooks and the guard.
 */
import type { ClientBase, QueryResult } from 'pg';
import { DeadlineExceededError, remaining, type Context } from '@ctxkit/core';
import { isQueryCanceled, txStatus } from './errors.js';
import { whenIdle } from './idle.js';
import type { Job, Lane, Scope, TimeoutNeed } from './lane.js';
import type { ResolvedOptions } from './options.js';
import { sql } from './query-config.js';
import { KEEP, RESTORE, parseStatementTimeout, planTimeout, statementTimeoutSql } from './timeout-plan.js';

/**
 * @internal Whether the session of `client` is outside any transaction, as far as node-postgres
 * knows (a client that has just connected reports null until its first statement).
 */
export function outsideTransaction(client: object): boolean {
  const s = txStatus(client);
  return s !== 'T' && s !== 'E';
}

/**
 * @internal What one connection's session holds, kept for the connection's life (across pool
 * checkouts; one per lane), and the guard that protects plain node-postgres users from a value
 * of ours.
 */
export class ConnectionTimeout {
  /** `SHOW statement_timeout` of the session (text as shown, and ms; 0 = none), once read. */
  sessionText: string | undefined = undefined;
  sessionMs = 0;
  /**
   * The session-level statement_timeout in force: undefined = the session's own value (as read
   * into `sessionText`, or not read yet); a number = ms we SET (never above the session's own);
   * NaN = unknown (a SET whose outcome is not known) — fits nothing, so it is SET again.
   */
  inForceMs: number | undefined = undefined;
  /** Whether `guardFn` is on the client as its `query` (put there by `guard`). */
  private guarded = false;
  /**
   * The `query` `guard` puts on the client while nobody holds it with a value of ours in force,
   * and what it was made for: the client's `query` it calls, the session's value it restores.
   * The next `guard` puts the same function back while both are unchanged (the usual case), so
   * a wrapped statement does not allocate a guard each time.
   */
  private guardFn: ((...args: unknown[]) => unknown) | undefined = undefined;
  private guardOriginal: unknown = undefined;
  private guardText: string | undefined = undefined;
  /** Calls made on the guarded client while its restoring `SET` runs (see `makeGuard`). */
  private deferred: (() => void)[] | undefined = undefined;
  private cleanupTimeoutMs = 5000;

  constructor(private readonly client: ClientBase) {}

  /** Stores what `SHOW statement_timeout` returned as the session's own value. */
  storeSession(res: QueryResult | undefined): void {
    const text = String((res?.rows[0] as Record<string, unknown> | undefined)?.['statement_timeout'] ?? '0');
    this.sessionText = text;
    this.sessionMs = parseStatementTimeout(text) ?? 0;
  }

  /**
   * A wrapper call or pool checkout starts using the client: removes the guard `guard` put on
   * it; the wrapped statements decide for themselves (point 1 of the module comment).
   */
  unguard(): void {
    if (!this.guarded) return;
    this.guarded = false;
    const c = this.client as unknown as { query: unknown };
    if (c.query === this.guardFn) c.query = this.guardOriginal;
  }

  /**
   * The last holder is done with the client (it goes back to the pool, or back to its owner's
   * code; the lane calls this, unless the connection is broken). When a statement_timeout of ours is still in force, the client's `query` is guarded
   * so that whoever uses it next outside this package (plain `pool.query`, `pool.connect`, the
   * raw client) first gets the session's own value back: the restoring `SET` runs before their
   * statement, which waits for it (see `makeGuard`). The next wrapped statement removes the
   * guard instead (`unguard`) and decides for itself whether the value in force fits it.
   */
  guard(cleanupTimeoutMs: number): void {
    this.cleanupTimeoutMs = cleanupTimeoutMs;
    if (this.guarded) return;
    const text = this.sessionText;
    if (this.inForceMs === undefined || text === undefined) return;
    const c = this.client as unknown as { query: (...args: unknown[]) => unknown };
    const original = c.query;
    let fn = this.guardFn;
    if (fn === undefined || this.guardOriginal !== original || this.guardText !== text) {
      fn = this.guardFn = this.makeGuard(original, text);
      this.guardOriginal = original;
      this.guardText = text;
    }
    this.guarded = true;
    c.query = fn;
  }

  /**
   * The guarding `query` of `guard`. Its first call sends the `SET` back to the session's own
   * value (`text`, as shown) on `original`, alone; that call and every later one wait (in call
   * order, each answered as node-postgres would: the submittable, undefined with a callback,
   * else a promise) until the `SET` is over and the client idle, then go to `original` and the
   * guard removes itself. So the caller's statements never queue behind ours in node-postgres.
   */
  private makeGuard(original: (...args: unknown[]) => unknown, text: string): (...args: unknown[]) => unknown {
    const c = this.client;
    const restore = statementTimeoutSql('SET', RESTORE, text);
    const flush = (): void => {
      const calls = this.deferred ?? [];
      this.deferred = undefined;
      this.unguard();
      for (const call of calls) call();
    };
    return (...args: unknown[]): unknown => {
      if (args[0] == null) return original.apply(c, args); // node-postgres's own TypeError
      if (this.deferred !== undefined) return defer(this.deferred, original, c, args);
      const calls: (() => void)[] = [];
      this.deferred = calls;
      const answer = defer(calls, original, c, args);
      try {
        original.call(c, restore, (err: unknown) => {
          // Inside a transaction the SET is undone by a ROLLBACK: then the value is unknown.
          this.inForceMs = err || !outsideTransaction(c) ? NaN : undefined;
          whenIdle(c, this.cleanupTimeoutMs, flush);
        });
      } catch {
        this.inForceMs = NaN; // the client refuses work; so will the caller's statements
        flush();
      }
      return answer;
    };
  }
}

/**
 * What a statement that ran under a server-side timeout of ours rejects with: a `57014` from the
 * server becomes the ended context's `ctx.err` (the first in `ctxs` that ended), or, when the
 * server fired before this process's own deadline, a `DeadlineExceededError` whose cause is the
 * server's error. Anything else passes through.
 */
function mapServerTimeout(e: unknown, ctxs: readonly Context[]): unknown {
  if (!isQueryCanceled(e)) return e;
  for (const c of ctxs) if (c.err !== undefined) return c.err;
  return new DeadlineExceededError("@ctxkit/pg: the server stopped the statement at its statement_timeout (the context's deadline)", {
    cause: e,
  });
}

// Job.pending values besides a SET's ms (≥ 1) and RESTORE.
const NONE = 0;
const SHOW = -3;
const STEPPED = -4;

/**
 * @internal The `TimeoutNeed` of a statement: at most one `SHOW statement_timeout` (once per
 * connection) and one `SET` before it, decided by `planTimeout` when the statement is about to
 * start (so statements queued on one client each see what the previous ones left). Subclasses
 * say where the value in force lives and how the budget is found.
 */
export abstract class TimeoutPlanner implements TimeoutNeed {
  /** `SET` or `SET LOCAL`. */
  protected abstract readonly verb: 'SET' | 'SET LOCAL';
  /** The statement's remaining budget (ms), undefined when it has none or it is not wanted. */
  protected abstract budget(job: Job): number | undefined;
  protected abstract inForce(lane: Lane, job: Job): number | undefined;
  protected abstract record(lane: Lane, job: Job, v: number | undefined): void;
  /** False where nothing may be sent (a transaction the caller opened). */
  protected abstract applies(lane: Lane): boolean;
  /** The contexts whose end or deadline the statement obeys. */
  protected abstract contexts(job: Job): Context[];

  step(lane: Lane, job: Job): string | undefined {
    if (job.pending === STEPPED) return undefined;
    const r = this.budget(job);
    const inForce = this.inForce(lane, job);
    if (r === undefined && inForce === undefined) return undefined; // the common no-deadline path
    if (!this.applies(lane)) return undefined;
    if (r !== undefined && lane.timeout.sessionText === undefined) {
      job.pending = SHOW;
      return 'SHOW statement_timeout';
    }
    const p = planTimeout(inForce, lane.timeout.sessionMs, r, this.o(job));
    if (p === KEEP) {
      job.armed = r !== undefined && inForce !== undefined;
      return undefined;
    }
    job.pending = p;
    return statementTimeoutSql(this.verb, p, lane.timeout.sessionText);
  }

  stepDone(lane: Lane, job: Job, err: unknown, res: QueryResult | undefined): void {
    const p = job.pending;
    if (p === SHOW) {
      if (err === undefined) lane.timeout.storeSession(res);
      job.pending = NONE;
      return;
    }
    // A failed (or cancelled) SET may or may not have taken effect: unknown, SET again next time.
    this.record(lane, job, err !== undefined ? NaN : p === RESTORE ? undefined : p);
    job.armed = p !== RESTORE;
    job.pending = STEPPED;
  }

  mapError(_lane: Lane, job: Job, err: unknown): unknown {
    return job.armed ? mapServerTimeout(err, this.contexts(job)) : err;
  }

  /** The options of the wrapper the job came through. */
  protected abstract o(job: Job): ResolvedOptions;
}

/**
 * @internal The server-side timeout of statements outside transactions (`db.query`,
 * `wrapClient`): a session-level `SET`, left in force. Inside a transaction the caller opened
 * on a wrapped client nothing is sent (a session-level SET there would be undone by ROLLBACK).
 */
export class SessionTimeout extends TimeoutPlanner {
  protected readonly verb = 'SET';
  constructor(private readonly options: ResolvedOptions) {
    super();
  }
  protected o(): ResolvedOptions {
    return this.options;
  }
  protected budget(job: Job): number | undefined {
    return this.options.serverTimeout && job.ctx.deadline !== undefined ? remaining(job.ctx) : undefined;
  }
  protected inForce(lane: Lane): number | undefined {
    return lane.timeout.inForceMs;
  }
  protected record(lane: Lane, _job: Job, v: number | undefined): void {
    // A session-level SET that ran inside a transaction is undone by ROLLBACK: unknown then.
    lane.timeout.inForceMs = outsideTransaction(lane.client) ? v : NaN;
  }
  protected applies(lane: Lane): boolean {
    return outsideTransaction(lane.client);
  }
  protected contexts(job: Job): Context[] {
    return [job.ctx];
  }
}

/**
 * @internal The statement_timeout in force in one transaction: undefined = the session's own
 * value, else ms of ours (set with SET LOCAL, or a session-level value of ours inherited at
 * BEGIN; NaN = unknown). SET LOCAL ends with the transaction, so the connection's session-level
 * value is intact afterwards.
 */
export class TxTimeoutState {
  inForceMs: number | undefined;
  constructor(
    readonly o: ResolvedOptions,
    conn: ConnectionTimeout,
  ) {
    this.inForceMs = conn.inForceMs;
  }
  /** The value to come back to if a savepoint opened now is rolled back. */
  mark(): number | undefined {
    return this.inForceMs;
  }
  /** A savepoint was rolled back: its `SET LOCAL`s were undone with it. */
  restore(mark: number | undefined): void {
    this.inForceMs = mark;
  }
}

/** @internal A transaction or savepoint as `TxTimeout` sees it (transaction.ts's scopes). */
export interface TimeoutScope extends Scope {
  readonly ctx: Context;
  readonly parent: TimeoutScope | undefined;
  readonly timeout: TxTimeoutState;
}

/**
 * The server-side timeout of statements in a transaction: the smallest remaining budget among
 * the statement's context and those of its transaction and savepoints, as `SET LOCAL`, kept for
 * the next statements it fits.
 */
class TxTimeout extends TimeoutPlanner {
  protected readonly verb = 'SET LOCAL';
  protected o(job: Job): ResolvedOptions {
    return (job.scope as TimeoutScope).timeout.o;
  }
  protected budget(job: Job): number | undefined {
    const scope = job.scope as TimeoutScope;
    if (!scope.timeout.o.serverTimeout) return undefined;
    let min = job.ctx.deadline === undefined ? Infinity : remaining(job.ctx);
    for (let s: TimeoutScope | undefined = scope; s !== undefined; s = s.parent) {
      if (s.ctx.deadline !== undefined) min = Math.min(min, remaining(s.ctx));
    }
    return min === Infinity ? undefined : min;
  }
  protected inForce(_lane: Lane, job: Job): number | undefined {
    return (job.scope as TimeoutScope).timeout.inForceMs;
  }
  protected record(_lane: Lane, job: Job, v: number | undefined): void {
    (job.scope as TimeoutScope).timeout.inForceMs = v;
  }
  protected applies(): boolean {
    return true;
  }
  protected contexts(job: Job): Context[] {
    const out = [job.ctx];
    for (let s: TimeoutScope | undefined = job.scope as TimeoutScope; s !== undefined; s = s.parent) out.push(s.ctx);
    return out;
  }
}

/** @internal The `TimeoutNeed` of every statement in a transaction (the state is the scope's). */
export const TX_TIMEOUT: TimeoutNeed = new TxTimeout();

/**
 * @internal The BEGIN statement of a transaction about to start on `lane` under `ctx`, with the
 * `SET LOCAL statement_timeout` it needs appended (no round trip), recording it in `state`:
 * kept when the connection's value fits the transaction's deadline; the session's own value
 * back when the transaction has none but a value of ours is in force. Reads the session's value
 * first (once per connection) when there is a deadline; rejects like any statement under `ctx`.
 */
export async function beginWithTimeout(lane: Lane, ctx: Context, begin: string, state: TxTimeoutState): Promise<string> {
  const conn = lane.timeout;
  const o = state.o;
  const deadline = o.serverTimeout && ctx.deadline !== undefined;
  if (!deadline && conn.inForceMs === undefined) return begin;
  if (deadline && conn.sessionText === undefined) conn.storeSession(await lane.run(ctx, sql('SHOW statement_timeout'), undefined));
  const p = planTimeout(conn.inForceMs, conn.sessionMs, deadline ? remaining(ctx) : undefined, o);
  if (p === KEEP) return begin;
  state.inForceMs = p === RESTORE ? undefined : p;
  return `${begin}; ${statementTimeoutSql('SET LOCAL', p, conn.sessionText)}`;
}

/**
 * Queues a call of `original(...args)` on `calls` and returns what node-postgres would have
 * returned for it: a submittable itself, undefined when a callback is given, else a promise of
 * the result. A synchronous throw reaches the callback or the promise.
 */
function defer(calls: (() => void)[], original: (...args: unknown[]) => unknown, c: ClientBase, args: unknown[]): unknown {
  const first = args[0] as { submit?: unknown; callback?: unknown };
  if (typeof first.submit === 'function') {
    calls.push(() => void original.apply(c, args));
    return first;
  }
  const cb = [args[1], args[2], first.callback].find((f) => typeof f === 'function') as ((e: unknown) => void) | undefined;
  if (cb !== undefined) {
    calls.push(() => {
      try {
        original.apply(c, args);
      } catch (e) {
        cb(e);
      }
    });
    return undefined;
  }
  return new Promise((resolve, reject) => {
    calls.push(() => {
      try {
        (original.apply(c, args) as Promise<unknown>).then(resolve, reject);
      } catch (e) {
        reject(e);
      }
    });
  });
}
