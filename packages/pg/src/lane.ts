/**
 * A lane runs the statements of one node-postgres client strictly one after another, and owns
 * what happens when the context of the running statement ends:
 *
 * 1. a CancelRequest goes to the server over a separate connection;
 * 2. the lane waits until both the statement has settled and the server has closed the cancel
 *    connection (from then on the cancel signal cannot land on a later statement);
 * 3. an empty statement checks that the backend answers and refreshes the transaction status;
 * 4. only then does the next statement start, and the cancelled caller gets `ctx.err`.
 *
 * When a step fails or overruns `cleanupTimeoutMs`, the lane is broken: its `destroy` hook closes
 * the connection and every later statement fails with the reason. Waiting statements whose
 * context ends leave the queue without touching the connection.
 */
import type { ClientBase, QueryConfig, QueryResult } from 'pg';
import { Statement, type Sendable } from './query-config.js';
import { afterFunc, getClock, type Context } from '@ctxkit/core';
import { cancelTargetOf, sendCancelRequest, type CancelOutcome } from './cancel-request.js';
import { isConnectionFailure } from './errors.js';

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

const QUEUED = 0;
const RUNNING = 1;
const CANCELLING = 2;
const PROBING = 3;
const DONE = 4;

class Job {
  state = QUEUED;
  stopWatch: (() => boolean) | undefined = undefined;
  /** What the caller gets once a cancel cycle is over. */
  reason: unknown = undefined;
  settled = false;
  error: unknown = undefined;
  cancel: CancelOutcome | undefined = undefined;
  timer: unknown = undefined;
  constructor(
    readonly ctx: Context,
    readonly config: Sendable,
    readonly scope: Scope | undefined,
    readonly cb: Callback,
    readonly group: object | undefined,
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
  private running: Job | undefined = undefined;
  private readonly queue: Job[] = [];
  /** The group whose statements alone may start now (see `exec`). */
  private owner: object | undefined = undefined;

  constructor(readonly client: ClientBase, public cleanupTimeoutMs: number) {}

  /**
   * Runs `config` (already copied: node-postgres writes into it) when the lane is free and calls
   * `cb` exactly once. When `ctx` ends first, `cb` gets `ctx.err` — at once if still queued,
   * after the cancel cycle if running. `scope` makes it subject to `interrupt(scope)`. `group`
   * marks statements that must run back to back (e.g. SET statement_timeout, the statement, SET
   * back): once one of them starts, only statements of that group start until `endGroup(group)`.
   */
  exec(ctx: Context, config: Sendable, scope: Scope | undefined, cb: Callback, group?: object): void {
    const job = new Job(ctx, config, scope, cb, group);
    if (this.running === undefined && this.queue.length === 0 && (this.owner === undefined || this.owner === group)) {
      this.start(job);
    } else {
      this.queue.push(job);
      job.stopWatch = afterFunc(ctx, () => this.onCtxEnd(job));
      this.pump();
    }
  }

  /** `exec` as a promise. */
  run(ctx: Context, config: Sendable, scope: Scope | undefined, group?: object): Promise<QueryResult> {
    return new Promise((resolve, reject) => {
      this.exec(ctx, config, scope, (err, res) => (err !== undefined ? reject(err) : resolve(res!)), group);
    });
  }

  /** Ends `group` (see `exec`): other statements may start again. Idempotent. */
  endGroup(group: object): void {
    if (this.owner !== group) return;
    this.owner = undefined;
    this.pump();
  }

  /**
   * Ends every statement under `scope` with `err`: queued ones leave the queue, the running one
   * is cancelled in the server.
   */
  interrupt(scope: Scope, err: unknown): void {
    for (let i = 0; i < this.queue.length;) {
      const job = this.queue[i]!;
      if (within(job.scope, scope)) {
        this.queue.splice(i, 1);
        this.abandon(job, err);
      } else {
        i++;
      }
    }
    const r = this.running;
    if (r !== undefined && r.state === RUNNING && within(r.scope, scope)) this.cancelRunning(r, err);
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
    while (this.running === undefined && this.queue.length > 0) {
      const owner = this.owner;
      const i = owner === undefined ? 0 : this.queue.findIndex((j) => j.group === owner);
      if (i < 0) return;
      this.start(this.queue.splice(i, 1)[0]!);
    }
  }

  private start(job: Job): void {
    if (this.broken !== undefined) return this.abandon(job, this.broken);
    const ended = job.ctx.err ?? scopeError(job.scope);
    if (ended !== undefined) return this.abandon(job, ended);
    job.state = RUNNING;
    this.running = job;
    if (job.group !== undefined) this.owner = job.group;
    job.stopWatch ??= afterFunc(job.ctx, () => this.onCtxEnd(job));
    try {
      const cb = (err: unknown, res: QueryResult): void => this.onSettled(job, err, res);
      const c = job.config;
      if (c instanceof Statement) this.client.query(c.text, c.values as unknown[], cb);
      else this.client.query(c as QueryConfig, cb);
    } catch (err) {
      this.onSettled(job, err, undefined);
    }
  }

  private onCtxEnd(job: Job): void {
    if (job.state === QUEUED) {
      const i = this.queue.indexOf(job);
      if (i >= 0) this.queue.splice(i, 1);
      this.abandon(job, job.ctx.err);
    } else if (job.state === RUNNING) {
      this.cancelRunning(job, job.ctx.err);
    }
  }

  private onSettled(job: Job, err: unknown, res: QueryResult | undefined): void {
    if (job.settled) return;
    job.settled = true;
    const error = err ?? undefined;
    if (job.state === CANCELLING) {
      job.error = error;
      this.cancelProgress(job);
      return;
    }
    if (job.state !== RUNNING) return;
    job.state = DONE;
    job.stopWatch?.();
    if (error !== undefined && isConnectionFailure(error, this.client)) this.markBroken(asError(error));
    this.running = undefined;
    // The context ended before the result arrived (no cancel was needed): the caller stopped
    // waiting, so it gets ctx.err, as everywhere else.
    const ended = job.ctx.err;
    this.pump();
    if (ended !== undefined) job.cb(ended, undefined, true);
    else job.cb(error, res, true);
  }

  private cancelRunning(job: Job, reason: unknown): void {
    job.state = CANCELLING;
    job.reason = reason;
    job.stopWatch?.();
    job.timer = getClock().setTimer(() => this.cancelOverdue(job), this.cleanupTimeoutMs, false);
    const c = this.client as { processID?: unknown; secretKey?: unknown };
    const target = cancelTargetOf(this.client);
    if (typeof c.processID !== 'number' || typeof c.secretKey !== 'number' || target === undefined) {
      // No way to reach the backend's cancel key: closing the connection is the only way to stop it.
      job.cancel = 'not-sent';
      this.markBroken(new Error('@ctxkit/pg: no backend key data to send a cancel request; the connection was closed to stop the statement'));
      return;
    }
    sendCancelRequest(target, c.processID, c.secretKey, this.cleanupTimeoutMs, (outcome) => {
      job.cancel = outcome;
      this.cancelProgress(job);
    });
  }

  /** Step 2 → 3 of the cancel cycle, once both the statement and the cancel request are over. */
  private cancelProgress(job: Job): void {
    if (job.state !== CANCELLING || !job.settled || job.cancel === undefined) return;
    const clock = getClock();
    clock.clearTimer(job.timer);
    if (job.cancel === 'unknown') {
      this.markBroken(new Error('@ctxkit/pg: the server did not confirm a cancel request; the connection was closed so the cancel cannot hit a later statement'));
    }
    if (job.error !== undefined && isConnectionFailure(job.error, this.client)) this.markBroken(asError(job.error));
    if (this.broken !== undefined) return this.finishCancelled(job);
    job.state = PROBING;
    let answered = false;
    const timer = clock.setTimer(() => {
      if (answered) return;
      answered = true;
      this.markBroken(new Error('@ctxkit/pg: the connection did not answer a health check after a cancel; it was closed'));
      this.finishCancelled(job);
    }, this.cleanupTimeoutMs, false);
    try {
      this.client.query('', (err: unknown) => {
        if (answered) return;
        answered = true;
        clock.clearTimer(timer);
        if (err) this.markBroken(asError(err));
        this.finishCancelled(job);
      });
    } catch (err) {
      answered = true;
      clock.clearTimer(timer);
      this.markBroken(asError(err));
      this.finishCancelled(job);
    }
  }

  private cancelOverdue(job: Job): void {
    if (job.state !== CANCELLING) return;
    this.markBroken(new Error(`@ctxkit/pg: a cancelled statement did not stop within ${this.cleanupTimeoutMs} ms; the connection was closed`));
    this.finishCancelled(job);
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
