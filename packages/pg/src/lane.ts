/**
 * The statement queue of one node-postgres client (a "lane"): statements run strictly one after
 * another, each handed to node-postgres only once the client is idle, and the queue decides
 * what happens to a statement whose context (or transaction scope) ends:
 *
 * - still queued, or waiting for the client to become idle: it leaves at once, nothing sent;
 * - running: its cancel cycle (cancel-cycle.ts) stops it in the server; the next statement
 *   starts, and the caller gets `ctx.err`, only once that cycle is over.
 *
 * A statement may come with a `TimeoutNeed` (statement-timeout.ts): right before it is sent,
 * the need may send statements of its own first (`SHOW`/`SET statement_timeout`); they belong
 * to the same job, so a cancel meant for the job can only ever land on them or on the statement.
 *
 * Who holds the client (held-connection.ts) registers with `hold`/`unhold`; when a step fails
 * in a way that leaves the connection untrustworthy, `markBroken` destroys it through its
 * holders and every later statement fails with the reason. The lane owns no statement_timeout
 * state: `timeout` belongs to statement-timeout.ts.
 */
import type { ClientBase, QueryConfig, QueryResult } from 'pg';
import { afterFunc, type Context, asError } from '@ctxkit/core';
import { CancelCycle } from './cancel-cycle.js';
import { isConnectionFailure } from './errors.js';
import { clientBusy, whenIdle } from './idle.js';
import { Statement, type Sendable } from './query-config.js';
import { ConnectionTimeout } from './statement-timeout.js';

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

/** @internal Whoever holds a lane's client; the lane destroys the connection through it. */
export interface Holder {
  /** Closes the connection (at most once per hold), with `err` as the reason. */
  destroy(err: Error): void;
}

const QUEUED = 0;
const RUNNING = 1;
const CANCELLING = 2;
const DONE = 4;
/** The statement settled with an error; the client's ReadyForQuery is awaited (see idle.ts). */
const SETTLING = 5;
/** About to send, waiting for the client to be idle: nothing of the job's is on the wire yet. */
const IDLE_WAIT = 6;

/** @internal One statement on a lane. `pending` and `armed` are its `TimeoutNeed`'s scratch. */
export class Job {
  state = QUEUED;
  /** Scratch of the `TimeoutNeed` (statement-timeout.ts): what its last step sent. */
  pending = 0;
  /** Set by the `TimeoutNeed` when the statement runs under a server-side timeout of ours. */
  armed = false;
  stopWatch: (() => boolean) | undefined = undefined;
  /** What the caller gets once a cancel cycle is over. */
  reason: unknown = undefined;
  settled = false;
  /** The cancel cycle, once the job is cancelled while running. */
  cycle: CancelCycle | undefined = undefined;
  constructor(
    readonly ctx: Context,
    readonly config: Sendable,
    readonly scope: Scope | undefined,
    readonly cb: Callback,
    readonly need: TimeoutNeed | undefined,
    /** Whether the lane watches `ctx` itself (else the caller calls `cancel(job)`). */
    readonly watch: boolean,
  ) {}
}

/** @internal See the module comment. One lane per client, made by `laneOf`. */
export class Lane {
  /** Set once the connection must not be used again; the reason later statements fail with. */
  broken: Error | undefined = undefined;
  /** The session's statement_timeout, read and written by statement-timeout.ts only. */
  readonly timeout: ConnectionTimeout;
  private running: Job | undefined = undefined;
  private readonly queue: Job[] = [];
  /** Who holds the client now (pool checkouts, wrapClient calls; see `hold`). */
  private readonly holders: Holder[] = [];

  constructor(
    readonly client: ClientBase,
    public cleanupTimeoutMs: number,
  ) {
    this.timeout = new ConnectionTimeout(client);
  }

  /**
   * Runs `config` (already copied: node-postgres writes into it) when the lane is free and calls
   * `cb` exactly once. When `ctx` ends first, `cb` gets `ctx.err` — at once if still queued,
   * after the cancel cycle if running. With `watch` false the lane does not observe `ctx`: the
   * caller (an `operation` teardown) calls `cancel(job)` when it ends. `scope` makes the job
   * subject to `interrupt(scope)`; `need` sets the server-side timeout it must run under.
   */
  exec(ctx: Context, config: Sendable, scope: Scope | undefined, cb: Callback, need?: TimeoutNeed, watch = true): Job {
    const job = new Job(ctx, config, scope, cb, need, watch);
    if (this.running === undefined && this.queue.length === 0) {
      this.start(job);
    } else {
      this.queue.push(job);
      if (watch) job.stopWatch = afterFunc(ctx, () => this.cancel(job));
      this.pump();
    }
    return job;
  }

  /** `exec` as a promise (the lane watches `ctx`). */
  run(ctx: Context, config: Sendable, scope: Scope | undefined, need?: TimeoutNeed): Promise<QueryResult> {
    return new Promise((resolve, reject) => {
      this.exec(ctx, config, scope, (err, res) => (err !== undefined ? reject(err) : resolve(res!)), need);
    });
  }

  /**
   * `job`'s context ended: a queued (or not yet sent) job leaves with `ctx.err` at once; a
   * running one is cancelled in the server; a job that already settled is left alone.
   */
  cancel(job: Job): void {
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

  /**
   * `holder` starts using the client (a pool checkout, a wrapClient call); the statement_timeout
   * guard comes off. Paired with one `unhold`.
   */
  hold(holder: Holder): void {
    this.holders.push(holder);
    this.timeout.unguard();
  }

  /**
   * `holder` is done with the client. When nobody holds it any more and it went back healthy
   * (`healthy`), the statement_timeout guard goes on (statement-timeout.ts, point 3).
   */
  unhold(holder: Holder, healthy: boolean): void {
    const i = this.holders.indexOf(holder);
    if (i >= 0) this.holders.splice(i, 1);
    if (this.holders.length === 0 && healthy && this.broken === undefined) this.timeout.guard(this.cleanupTimeoutMs);
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

  /** Marks the connection unusable (first reason wins) and destroys it through its holders. */
  markBroken(err: Error): void {
    if (this.broken !== undefined) return;
    this.broken = err;
    for (const h of this.holders.slice()) h.destroy(err);
  }

  /** The running job, still waiting to be sent (`IDLE_WAIT`), leaves the lane with `err`. */
  private drop(job: Job, err: unknown): void {
    job.state = DONE;
    job.stopWatch?.();
    this.running = undefined;
    this.pump();
    job.cb(err, undefined, false);
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
    if (job.watch) job.stopWatch ??= afterFunc(job.ctx, () => this.cancel(job));
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

  private onSettled(job: Job, err: unknown, res: QueryResult | undefined): void {
    if (job.settled) return;
    job.settled = true;
    const error = err ?? undefined;
    if (job.state === CANCELLING) return job.cycle!.statementSettled(error);
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
    const cycle = new CancelCycle(this, this.cleanupTimeoutMs, () => this.finishCancelled(job));
    job.cycle = cycle;
    cycle.start();
  }

  private finishCancelled(job: Job): void {
    job.state = DONE;
    this.running = undefined;
    this.pump();
    job.cb(job.reason, undefined, true);
  }
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
