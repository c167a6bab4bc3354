import { describeValue } from './describe.js';
import { withCancel, type CancelScope, type Context } from './context.js';
import { checkContext } from './internal.js';
import { assertKnownOptions } from './options.js';

/** Options for `Group`. */
export interface GroupOptions {
  /** At most this many tasks run at once; the rest wait in order. Default: no limit. */
  limit?: number;
}

type Task = (ctx: Context) => Promise<unknown>;

/**
 * Go's errgroup: run tasks under one context, stop them all at the first failure, wait for all.
 *
 * Rules of use:
 * - Every task receives `group.ctx` and must honour it (pass it on, or its `signal`).
 * - The first task that rejects cancels `group.ctx` with its error as the cause; the others are
 *   expected to stop. Tasks still queued by `limit` when the group has ended are never started.
 * - Always call `wait()`: it settles only after every started task has settled, then ends
 *   `group.ctx` (unlinking it from the parent). It rejects with the first task error, or with
 *   `group.ctx.err` when the group ended (e.g. its parent was cancelled) before queued tasks ran;
 *   otherwise it resolves.
 */
export class Group {
  /** The context every task runs with; ends at the first task failure, when the parent ends, or after `wait()`. */
  readonly ctx: Context;
  private readonly scope: CancelScope;
  private readonly limit: number;
  private active = 0;
  private readonly queue: Task[] = [];
  private failed = false;
  private firstError: unknown;
  private skipped = false;
  private waiters: Array<() => void> = [];

  constructor(parent: Context, opts: GroupOptions = {}) {
    checkContext(parent, 'Group');
    if (opts === null || typeof opts !== 'object') throw new TypeError(`Group: options must be an object, got ${describeValue(opts)}`);
    assertKnownOptions(opts, ['limit'], 'Group');
    const limit = opts.limit ?? Infinity;
    if (typeof limit !== 'number' || !(limit >= 1) || (limit !== Infinity && !Number.isInteger(limit))) {
      throw new TypeError(`Group: limit must be a positive integer, got ${String(limit)}`);
    }
    this.limit = limit;
    this.scope = withCancel(parent);
    this.ctx = this.scope.ctx;
  }

  /**
   * Starts `fn(group.ctx)` now, or queues it while `limit` tasks run. A synchronous throw counts
   * as a rejection. Does not throw for task failures: those surface from `wait()`.
   */
  go(fn: Task): void {
    if (typeof fn !== 'function') throw new TypeError('Group.go: fn must be a function');
    if (this.active < this.limit) this.start(fn);
    else this.queue.push(fn);
  }

  /** Settles once every started task has settled; see the class rules for the outcome. */
  wait(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const finish = (): void => {
        const err = this.failed ? this.firstError : this.skipped ? this.ctx.err : undefined;
        const failed = this.failed || this.skipped;
        this.scope.cancel();
        if (failed) reject(err);
        else resolve();
      };
      if (this.active === 0 && this.queue.length === 0) finish();
      else this.waiters.push(finish);
    });
  }

  private start(fn: Task): void {
    this.active++;
    let p: Promise<unknown>;
    try {
      p = Promise.resolve(fn(this.ctx));
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then(
      () => this.settle(false, undefined),
      (e: unknown) => this.settle(true, e),
    );
  }

  private settle(failed: boolean, error: unknown): void {
    this.active--;
    if (failed && !this.failed) {
      this.failed = true;
      this.firstError = error;
      this.scope.cancel(error);
    }
    while (this.queue.length > 0 && this.active < this.limit) {
      const next = this.queue.shift()!;
      if (this.ctx.err !== undefined) {
        this.skipped = true;
        continue;
      }
      this.start(next);
    }
    if (this.active === 0 && this.queue.length === 0) {
      const ws = this.waiters;
      this.waiters = [];
      for (const w of ws) w();
    }
  }
}
