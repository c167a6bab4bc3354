/**
 * A lane runs the statements of one node-postgres client strictly one after another, and owns
 * what happens when the context of the running statement ends:
 *
 * 1. a CancelRequest goes to the server over a separate connection;
 * 2. the lane waits until both the statement has settled and the server has closed the cancel
 *    connection (from then on the cancel signal cannot land on a later statement). PostgreSQL
 *    drops a signal that reaches a backend which has not started the statement yet (the query
 *    message still on its way, or still in this process's socket buffer). So while the
 *    statement has not settled, each time a request is over the lane sends another one after a
 *    pause (`RESEND_PAUSES_MS`: 25, 100, then 400 ms; at most four requests in all, and only
 *    while the pause ends inside the `cleanupTimeoutMs` window, which bounds each request too).
 *    Never two at a time, never one once the statement has settled: every request sent for the
 *    job is over before step 3;
 * 3. an empty statement checks that the backend answers and refreshes the transaction status;
 * 4. only then does the next statement start, and the cancelled caller gets `ctx.err`.
 *
 * A statement may come with a `TimeoutNeed`: right before it is sent, the need may send
 * statements of its own first (`SHOW`/`SET statement_timeout`, see statement-timeout.ts); they
 * belong to the same job, so a cancel meant for the job can only ever land on them or on the
 * statement itself. The lane also remembers the session's `statement_timeout` in force
 * (`inForceMs`), which survives across pool checkouts, and guards the client against a stale
 * value while no wrapper holds it (`enter`/`leave`).
 *
 * When a step fails or overruns `cleanupTimeoutMs`, the lane is broken: its `destroy` hook closes
 * the connection and every later statement fails with the reason. Waiting statements whose
 * context ends leave the queue without touching the connection.
 */
import type { ClientBase, QueryConfig, QueryResult } from 'pg';
import { Statement, type Sendable } from './query-config.js';
import { afterFunc, getClock, type Context } from '@ctxkit/core';
import { cancelTargetOf, sendCancelRequest, type CancelOutcome, type CancelTarget } from './cancel-request.js';
import { isConnectionFailure } from './errors.js';
import { clientBusy, whenIdle } from './idle.js';
import { outsideTransaction, RESTORE, statementTimeoutSql } from './statement-timeout.js';

/**
 * @internal What a statement requires of the server-side `statement_timeout` in force when it
 * runs. The lane calls `step` right before sending the statement, and again after each step
 * succeeded, until it returns undefined; then the statement is sent. A failed step fails the job
 * with the step's error (after `stepDone` has seen it). `mapError` rewrites the statement's
 * error (a server-side timeout becomes the context's error).
 */
export interface TimeoutNeed {
  step(lane: Lane, job: Job): string | undefined;
  stepDone(lane: Lane, job: Job, err: unknown, res: QueryResult | undefined): void;
  mapError(lane: Lane, job: Job, err: unknown): unknown;
}

/**
 * @internal Called with the error (undefined on success) and the result of a statement; `sent`
 * tells whether the statement reached the connection at all.
 */
export type Callback = (err: unknown, res: QueryResult | undefined, sent: boolean) => void;

/**
 * @internal A transaction or savepoint. Statements run under a scope are interrupted when it is
 * interrupted; `endedWith` is set once it is over.
 */
export interface Scope {
  readonly parent: Scope | undefined;
  readonly endedWith: unknown;
}

function within(s: Scope | undefined, ancestor: Scope): boolean {
  for (let x = s; x !== undefined; x = x.parent) if (x === ancestor) return true;
  return false;
}

function scopeError(s: Scope | undefined): unknown {
  for (let x = s; x !== undefined; x = x.parent) if (x.endedWith !== undefined) return x.endedWith;
  return undefined;
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

/**
 * The pauses before re-sending a CancelRequest (module comment, step 2), each counted from the
 * moment the previous request is over while the statement has still not settled; one entry per
 * re-send, so at most `1 + RESEND_PAUSES_MS.length` requests per cancel.
 *
 * Why these: a signal that did reach the running statement stops it at the backend's next
 * interrupt check (usually well under a millisecond) and its error needs one trip back, so 25 ms
 * lets that answer arrive on loopback and same-site links before anything is re-sent: in the
 * common case no second request is made. A dropped signal (the statement was not there yet)
 * thus costs about 25 ms plus one request, instead of the whole `cleanupTimeoutMs` and the
 * connection. Quadrupling covers a query message that travels longer (a slow or distant link, a
 * loaded server) and a backend slow to act on the signal, without hammering the server's
 * postmaster (each request makes it fork): ~0.5 s of pauses in all, a tenth of the default
 * `cleanupTimeoutMs`; after that the wait is bounded by `cleanupTimeoutMs`, as before.
 */
const RESEND_PAUSES_MS: readonly number[] = [25, 100, 400];

/** The combined outcome of a job's cancel requests: any 'unknown' wins, then any 'delivered'. */
function combine(a: CancelOutcome | undefined, b: CancelOutcome): CancelOutcome {
  if (a === 'unknown' || b === 'unknown') return 'unknown';
  return a === 'delivered' || b === 'delivered' ? 'delivered' : 'not-sent';
}

/** @internal The cancel requests of one job's cancel cycle (made only when a cancel is sent). */
class CancelRequests {
  /** How many were sent. */
  sent = 0;
  /** Whether one is sent and not over yet (at most one at a time). */
  inFlight = false;
  /** The pause before the next one, while it runs. */
  timer: unknown = undefined;
  constructor(
    readonly target: CancelTarget,
    readonly processId: number,
    readonly secretKey: number,
    /** End of the cycle's `cleanupTimeoutMs` window (clock time): no request outlives it. */
    readonly until: number,
  ) {}
}

const QUEUED = 0;
const RUNNING = 1;
const CANCELLING = 2;
const PROBING = 3;
const DONE = 4;
/** The statement settled with an error; the client's ReadyForQuery is awaited (see idle.ts). */
const SETTLING = 5;
/** About to send, waiting for the client to be idle: nothing of the job's is on the wire yet. */
const IDLE_WAIT = 6;

/** @internal One statement on a lane (fields after `state` are the lane's and the need's). */
export class Job {
  state = QUEUED;
  /** Scratch of the `TimeoutNeed`: what its last step sent. */
  pending = 0;
  /** Set by the `TimeoutNeed` when the statement runs under a server-side timeout of ours. */
  armed = false;
  stopWatch: (() => boolean) | undefined = undefined;
  /** What the caller gets once a cancel cycle is over. */
  reason: unknown = undefined;
  settled = false;
  error: unknown = undefined;
  /** The combined outcome of the cancel requests over so far (see `combine`). */
  cancel: CancelOutcome | undefined = undefined;
  /** The cancel requests, once a cancel is sent. */
  requests: CancelRequests | undefined = undefined;
  timer: unknown = undefined;
  constructor(
    readonly ctx: Context,
    readonly config: Sendable,
    readonly scope: Scope | undefined,
    readonly cb: Callback,
    readonly need: TimeoutNeed | undefined,
  ) {}
}

/** @internal See the module comment. One lane per client, made by `laneOf`. */
export class Lane {
  /** Set once the connection must not be used again; the reason later statements fail with. */
  broken: Error | undefined = undefined;
  /** Closes the connection; set by whoever holds the client (pool checkout or wrapClient). */
  destroy: ((err: Error) => void) | undefined = undefined;
  /** `SHOW statement_timeout` of the session (text as shown, and ms; 0 = none), once read. */
  sessionTimeoutText: string | undefined = undefined;
  sessionTimeoutMs = 0;
  /**
   * The session-level statement_timeout in force: undefined = the session's own value (as read
   * into `sessionTimeoutText`, or not read yet); a number = ms we SET (never above the session's
   * own); NaN = unknown (a SET whose outcome is not known) — fits nothing, so it is SET again.
   */
  inForceMs: number | undefined = undefined;
  private running: Job | undefined = undefined;
  private readonly queue: Job[] = [];
  /** How many wrapper calls or checkouts hold the client now (see `enter`). */
  private holders = 0;
  /** Whether `guardFn` is on the client as its `query` (put there by `leave`). */
  private guarded = false;
  /**
   * The `query` `leave` puts on the client while nobody holds it with a value of ours in force,
   * and what it was made for: the client's `query` it calls, the session's value it restores.
   * The next `leave` puts the same function back while both are unchanged (the usual case), so
   * a wrapped statement does not allocate a guard each time.
   */
  private guardFn: ((...args: unknown[]) => unknown) | undefined = undefined;
  private guardOriginal: unknown = undefined;
  private guardText: string | undefined = undefined;
  /** Calls made on the guarded client while its restoring `SET` runs (see `makeGuard`). */
  private deferred: (() => void)[] | undefined = undefined;

  constructor(
    readonly client: ClientBase,
    public cleanupTimeoutMs: number,
  ) {}

  /**
   * Runs `config` (already copied: node-postgres writes into it) when the lane is free and calls
   * `cb` exactly once. When `ctx` ends first, `cb` gets `ctx.err` — at once if still queued,
   * after the cancel cycle if running. `scope` makes it subject to `interrupt(scope)`; `need`
   * sets the server-side timeout the statement must run under (see `TimeoutNeed`).
   */
  exec(ctx: Context, config: Sendable, scope: Scope | undefined, cb: Callback, need?: TimeoutNeed): void {
    const job = new Job(ctx, config, scope, cb, need);
    if (this.running === undefined && this.queue.length === 0) {
      this.start(job);
    } else {
      this.queue.push(job);
      job.stopWatch = afterFunc(ctx, () => this.onCtxEnd(job));
      this.pump();
    }
  }

  /** `exec` as a promise. */
  run(ctx: Context, config: Sendable, scope: Scope | undefined, need?: TimeoutNeed): Promise<QueryResult> {
    return new Promise((resolve, reject) => {
      this.exec(ctx, config, scope, (err, res) => (err !== undefined ? reject(err) : resolve(res!)), need);
    });
  }

  /**
   * A wrapper call or pool checkout starts using the client: removes the guard `leave` put on
   * it. Every `enter` is paired with one `leave`.
   */
  enter(): void {
    this.holders++;
    this.unguard();
  }

  private unguard(): void {
    if (!this.guarded) return;
    this.guarded = false;
    const c = this.client as unknown as { query: unknown };
    if (c.query === this.guardFn) c.query = this.guardOriginal;
  }

  /**
   * The last holder is done with the client (it goes back to the pool, or back to its owner's
   * code). When a statement_timeout of ours is still in force, the client's `query` is guarded
   * so that whoever uses it next outside this package (plain `pool.query`, `pool.connect`, the
   * raw client) first gets the session's own value back: the restoring `SET` runs before their
   * statement, which waits for it (see `makeGuard`). The next wrapped statement removes the
   * guard instead (`enter`) and decides for itself whether the value in force fits it.
   */
  leave(): void {
    if (--this.holders > 0 || this.guarded || this.broken !== undefined) return;
    const text = this.sessionTimeoutText;
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
   * The guarding `query` of `leave`. Its first call sends the `SET` back to the session's own
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
          this.inForceMs = err || !outsideTransaction(this) ? NaN : undefined;
          whenIdle(c, this.cleanupTimeoutMs, flush);
        });
      } catch {
        this.inForceMs = NaN; // the client refuses work; so will the caller's statements
        flush();
      }
      return answer;
    };
  }

  /**
   * Ends every statement under `scope` with `err`: queued ones leave the queue, the running one
   * is cancelled in the server.
   */
  interrupt(scope: Scope, err: unknown): void {
    for (let i = 0; i < this.queue.length; ) {
      const job = this.queue[i]!;
      if (within(job.scope, scope)) {
        this.queue.splice(i, 1);
        this.abandon(job, err);
      } else {
        i++;
      }
    }
    const r = this.running;
    if (r === undefined || !within(r.scope, scope)) return;
    if (r.state === RUNNING) this.cancelRunning(r, err);
    else if (r.state === IDLE_WAIT) this.drop(r, err);
  }

  /** The running job, still waiting to be sent (`IDLE_WAIT`), leaves the lane with `err`. */
  private drop(job: Job, err: unknown): void {
    job.state = DONE;
    job.stopWatch?.();
    this.running = undefined;
    this.pump();
    job.cb(err, undefined, false);
  }

  /** Marks the connection unusable (first reason wins) and closes it through `destroy`. */
  markBroken(err: Error): void {
    if (this.broken !== undefined) return;
    this.broken = err;
    this.destroy?.(err);
  }

  private abandon(job: Job, err: unknown): void {
    job.state = DONE;
    job.stopWatch?.();
    job.cb(err, undefined, false);
  }

  private pump(): void {
    while (this.running === undefined && this.queue.length > 0) this.start(this.queue.shift()!);
  }

  private start(job: Job): void {
    if (this.broken !== undefined) return this.abandon(job, this.broken);
    const ended = job.ctx.err ?? scopeError(job.scope);
    if (ended !== undefined) return this.abandon(job, ended);
    job.state = RUNNING;
    this.running = job;
    job.stopWatch ??= afterFunc(job.ctx, () => this.onCtxEnd(job));
    this.send(job);
  }

  /**
   * Sends the job's next step (see `TimeoutNeed`), or its statement — only to an idle client
   * (a statement sent on the raw client, or the guard's `SET`, may still be running).
   */
  private send(job: Job): void {
    if (clientBusy(this.client)) {
      job.state = IDLE_WAIT;
      whenIdle(this.client, this.cleanupTimeoutMs, (err) => {
        if (job.state !== IDLE_WAIT) return; // its context ended meanwhile: it left (see `drop`)
        job.state = RUNNING;
        if (err !== undefined) this.markBroken(err);
        if (this.broken !== undefined) return this.onSettled(job, this.broken, undefined);
        this.send(job);
      });
      return;
    }
    try {
      const step = job.need?.step(this, job);
      if (step !== undefined) {
        this.client.query(step, (err: unknown, res: QueryResult) => this.onStep(job, err ?? undefined, res));
        return;
      }
      const cb = (err: unknown, res: QueryResult): void => this.onSettled(job, err, res);
      const c = job.config;
      if (c instanceof Statement) this.client.query(c.text, c.values as unknown[], cb);
      else this.client.query(c as QueryConfig, cb);
    } catch (err) {
      this.onSettled(job, err, undefined);
    }
  }

  private onStep(job: Job, err: unknown, res: QueryResult | undefined): void {
    if (job.settled) return;
    job.need!.stepDone(this, job, err, res);
    // Cancelled meanwhile (the statement is not sent), or the step failed: the job is over.
    if (job.state === CANCELLING || err !== undefined) return this.onSettled(job, err, undefined);
    if (job.state === RUNNING) this.send(job);
  }

  private onCtxEnd(job: Job): void {
    if (job.state === QUEUED) {
      const i = this.queue.indexOf(job);
      if (i >= 0) this.queue.splice(i, 1);
      this.abandon(job, job.ctx.err);
    } else if (job.state === RUNNING) {
      this.cancelRunning(job, job.ctx.err);
    } else if (job.state === IDLE_WAIT) {
      this.drop(job, job.ctx.err);
    }
  }

  private onSettled(job: Job, err: unknown, res: QueryResult | undefined): void {
    if (job.settled) return;
    job.settled = true;
    const error = err ?? undefined;
    if (job.state === CANCELLING) {
      job.error = error;
      this.stopResending(job); // a request still in flight is waited for (cancelProgress)
      this.cancelProgress(job);
      return;
    }
    if (job.state !== RUNNING) return;
    job.stopWatch?.();
    if (error !== undefined && isConnectionFailure(error, this.client)) this.markBroken(asError(error));
    // The context ended before the result arrived (no cancel was needed): the caller stopped
    // waiting, so it gets ctx.err, as everywhere else.
    const ended = job.ctx.err;
    if (this.broken === undefined && clientBusy(this.client)) {
      // An error arrives before its ReadyForQuery: nothing more is sent, and the caller (who may
      // release the connection to a pool) hears nothing, until the client is idle.
      job.state = SETTLING;
      whenIdle(this.client, this.cleanupTimeoutMs, (e) => {
        if (e !== undefined) this.markBroken(e);
        this.complete(job, error, res, ended);
      });
      return;
    }
    this.complete(job, error, res, ended);
  }

  /** A job that was not cancelled is over: the next one starts, then its caller hears. */
  private complete(job: Job, error: unknown, res: QueryResult | undefined, ended: unknown): void {
    job.state = DONE;
    this.running = undefined;
    this.pump();
    if (ended !== undefined) job.cb(ended, undefined, true);
    else if (error !== undefined && job.need !== undefined) job.cb(job.need.mapError(this, job, error), undefined, true);
    else job.cb(error, res, true);
  }

  private cancelRunning(job: Job, reason: unknown): void {
    job.state = CANCELLING;
    job.reason = reason;
    job.stopWatch?.();
    const clock = getClock();
    job.timer = clock.setTimer(() => this.cancelOverdue(job), this.cleanupTimeoutMs, false);
    const c = this.client as { processID?: unknown; secretKey?: unknown };
    const target = cancelTargetOf(this.client);
    if (typeof c.processID !== 'number' || typeof c.secretKey !== 'number' || target === undefined) {
      // No way to reach the backend's cancel key: closing the connection is the only way to stop it.
      job.cancel = 'not-sent';
      this.markBroken(
        new Error('@ctxkit/pg: no backend key data to send a cancel request; the connection was closed to stop the statement'),
      );
      return;
    }
    const r = new CancelRequests(target, c.processID, c.secretKey, clock.now() + this.cleanupTimeoutMs);
    job.requests = r;
    this.sendCancel(job, r, this.cleanupTimeoutMs);
  }

  /**
   * Sends one cancel request of `job` (none other in flight), over within `timeoutMs`. Once it is
   * over and the statement has still not settled, the next one is scheduled (module comment,
   * step 2).
   */
  private sendCancel(job: Job, r: CancelRequests, timeoutMs: number): void {
    r.sent++;
    r.inFlight = true;
    sendCancelRequest(r.target, r.processId, r.secretKey, timeoutMs, (outcome) => {
      r.inFlight = false;
      job.cancel = combine(job.cancel, outcome);
      if (job.state === CANCELLING && !job.settled) this.scheduleResend(job, r);
      this.cancelProgress(job);
    });
  }

  /** Arms the pause before the next request, if one is left and it ends inside the window. */
  private scheduleResend(job: Job, r: CancelRequests): void {
    const pause = RESEND_PAUSES_MS[r.sent - 1];
    if (pause === undefined) return;
    const clock = getClock();
    if (clock.now() + pause >= r.until) return;
    r.timer = clock.setTimer(
      () => {
        r.timer = undefined;
        if (job.state !== CANCELLING || job.settled || r.inFlight) return;
        const left = r.until - clock.now();
        if (left > 0) this.sendCancel(job, r, left);
      },
      pause,
      false,
    );
  }

  /** No more cancel requests for `job` (one in flight, if any, still runs to its end). */
  private stopResending(job: Job): void {
    const r = job.requests;
    if (r === undefined || r.timer === undefined) return;
    getClock().clearTimer(r.timer);
    r.timer = undefined;
  }

  /**
   * Step 2 → 3 of the cancel cycle, once both the statement and every cancel request sent for it
   * are over.
   */
  private cancelProgress(job: Job): void {
    if (job.state !== CANCELLING || !job.settled || job.cancel === undefined || job.requests?.inFlight === true) return;
    const clock = getClock();
    clock.clearTimer(job.timer);
    if (job.cancel === 'unknown') {
      this.markBroken(
        new Error(
          '@ctxkit/pg: the server did not confirm a cancel request; the connection was closed so the cancel cannot hit a later statement',
        ),
      );
    }
    if (job.error !== undefined && isConnectionFailure(job.error, this.client)) this.markBroken(asError(job.error));
    if (this.broken !== undefined) return this.finishCancelled(job);
    job.state = PROBING;
    let answered = false;
    const timer = clock.setTimer(
      () => {
        if (answered) return;
        answered = true;
        this.markBroken(new Error('@ctxkit/pg: the connection did not answer a health check after a cancel; it was closed'));
        this.finishCancelled(job);
      },
      this.cleanupTimeoutMs,
      false,
    );
    const fail = (err: unknown): void => {
      if (answered) return;
      answered = true;
      clock.clearTimer(timer);
      this.markBroken(asError(err));
      this.finishCancelled(job);
    };
    // The cancelled statement's error arrives before its ReadyForQuery: probe once it is idle.
    whenIdle(this.client, this.cleanupTimeoutMs, (idleErr) => {
      if (answered) return;
      if (idleErr !== undefined) return fail(idleErr);
      try {
        this.client.query('', (err: unknown) => {
          if (err) return fail(err);
          if (answered) return;
          answered = true;
          clock.clearTimer(timer);
          this.finishCancelled(job);
        });
      } catch (err) {
        fail(err);
      }
    });
  }

  private cancelOverdue(job: Job): void {
    if (job.state !== CANCELLING) return;
    this.markBroken(
      new Error(`@ctxkit/pg: a cancelled statement did not stop within ${this.cleanupTimeoutMs} ms; the connection was closed`),
    );
    this.finishCancelled(job);
  }

  private finishCancelled(job: Job): void {
    this.stopResending(job);
    job.state = DONE;
    this.running = undefined;
    this.pump();
    job.cb(job.reason, undefined, true);
  }
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

const lanes = new WeakMap<ClientBase, Lane>();

/**
 * @internal The lane of `client`, made on first use and kept as long as the client lives. A
 * broken lane stays broken: its client's connection has been destroyed.
 */
export function laneOf(client: ClientBase, cleanupTimeoutMs: number): Lane {
  let lane = lanes.get(client);
  if (lane === undefined) {
    lane = new Lane(client, cleanupTimeoutMs);
    lanes.set(client, lane);
  } else {
    lane.cleanupTimeoutMs = cleanupTimeoutMs;
  }
  return lane;
}
