/**
 * A small pool of dedicated connections, leased one caller at a time: the blocking-command pool
 * both adapters use. Client-agnostic: it makes and closes connections through the hooks it is
 * given.
 *
 * Rules of use:
 * - `acquire(ctx)` is an operation on `ctx`: an ended `ctx` rejects with `ctx.err` at once (no
 *   connection made); a caller waiting for a free connection leaves the queue when `ctx` ends; a
 *   connection being made for a caller whose `ctx` ended is kept for the next caller.
 * - Every acquired connection is given back exactly once: `release(conn)` when it is healthy
 *   (idle, not blocked, nothing owed on it), `discard(conn)` otherwise (it is closed and its slot
 *   freed). A connection is never handed to two callers at once.
 * - A connection that fails to be made rejects the caller that asked for it with the hook's
 *   error, and frees its slot.
 * - Idle connections are closed after `idleMs`, so an unused pool holds nothing open.
 * - `close()` closes idle connections, rejects waiting callers, and makes later `acquire`s
 *   reject; leased connections are closed when they come back.
 */
import { type Context, getClock, operation, type OperationSettle } from '@ctxkit/core';

/** How the pool makes and closes its connections. */
export interface LeasePoolHooks<T> {
  /** Makes a ready connection (connected, its client id known), or rejects. */
  create(): Promise<T>;
  /** Closes `conn` at once, without waiting for replies. Must not throw. */
  destroy(conn: T): void;
}

interface Waiter<T> {
  settle: OperationSettle<T>;
  /** False once the caller left (ctx ended) or was served. */
  waiting: boolean;
}

interface IdleEntry<T> {
  conn: T;
  timer: unknown;
}

/** The pool's error after `close()`. */
function closedError(label: string): Error {
  return new Error(`${label}: the connection pool is closed`);
}

/** See the module's rules of use. */
export class LeasePool<T> {
  private readonly idle: IdleEntry<T>[] = [];
  private readonly waiters: Waiter<T>[] = [];
  private readonly leased = new Set<T>();
  private creating = 0;
  private closed = false;

  /**
   * `max` connections at most (made or being made); `label` names the pool in errors and in the
   * operations it reports (e.g. `'redis blocking'`).
   */
  constructor(
    private readonly max: number,
    private readonly hooks: LeasePoolHooks<T>,
    private readonly label: string,
    private readonly idleMs = 30_000,
  ) {}

  /** Connections made or being made (leased + idle + creating). */
  get size(): number {
    return this.leased.size + this.idle.length + this.creating;
  }

  /** Connections leased to callers now. */
  get inUse(): number {
    return this.leased.size;
  }

  /** Callers waiting for a connection. */
  get pending(): number {
    let n = 0;
    for (const w of this.waiters) if (w.waiting) n++;
    return n;
  }

  /** A connection for `ctx`'s caller (see the rules of use); give it back with release/discard. */
  acquire(ctx: Context): Promise<T> {
    return operation<T>(ctx, `${this.label} acquire`, (settle) => {
      if (this.closed) {
        settle.reject(closedError(this.label));
        return;
      }
      const free = this.takeIdle();
      if (free !== undefined) {
        this.leased.add(free);
        settle.resolve(free);
        return;
      }
      const w: Waiter<T> = { settle, waiting: true };
      this.waiters.push(w);
      if (this.size < this.max) this.grow();
      return () => {
        w.waiting = false;
        this.dropLeftWaiters();
      };
    });
  }

  /** Gives back a healthy connection: to the next waiting caller, else to the idle list. */
  release(conn: T): void {
    if (!this.leased.delete(conn)) return;
    this.offer(conn);
  }

  /** Gives back a connection that must not be reused: it is closed and its slot freed. */
  discard(conn: T): void {
    if (!this.leased.delete(conn)) return;
    this.destroyQuietly(conn);
    this.refill();
  }

  /** Closes the pool (see the rules of use). Resolves once idle connections are closed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const clock = getClock();
    for (const e of this.idle.splice(0)) {
      clock.clearTimer(e.timer);
      this.destroyQuietly(e.conn);
    }
    for (const w of this.waiters.splice(0)) {
      if (!w.waiting) continue;
      w.waiting = false;
      w.settle.reject(closedError(this.label));
    }
  }

  private takeIdle(): T | undefined {
    const e = this.idle.pop();
    if (e === undefined) return undefined;
    getClock().clearTimer(e.timer);
    return e.conn;
  }

  private grow(): void {
    this.creating++;
    this.hooks.create().then(
      (conn) => {
        this.creating--;
        if (this.closed) this.destroyQuietly(conn);
        else this.offer(conn);
      },
      (e: unknown) => {
        this.creating--;
        // The caller this connection was for is the first still waiting; it gets the error.
        const w = this.nextWaiter();
        if (w !== undefined) w.settle.reject(e);
        this.refill();
      },
    );
  }

  /** Hands `conn` to the next waiting caller, or keeps it idle. */
  private offer(conn: T): void {
    if (this.closed) {
      this.destroyQuietly(conn);
      return;
    }
    const w = this.nextWaiter();
    if (w !== undefined) {
      this.leased.add(conn);
      w.settle.resolve(conn);
      return;
    }
    const entry: IdleEntry<T> = { conn, timer: undefined };
    entry.timer = getClock().setTimer(() => this.expire(entry), this.idleMs, false);
    this.idle.push(entry);
  }

  private expire(entry: IdleEntry<T>): void {
    const i = this.idle.indexOf(entry);
    if (i < 0) return;
    this.idle.splice(i, 1);
    this.destroyQuietly(entry.conn);
  }

  private nextWaiter(): Waiter<T> | undefined {
    for (;;) {
      const w = this.waiters.shift();
      if (w === undefined) return undefined;
      if (!w.waiting) continue;
      w.waiting = false;
      return w;
    }
  }

  /** Starts connections for callers still waiting, up to `max`. */
  private refill(): void {
    if (this.closed) return;
    let short = this.pending - this.creating;
    while (short > 0 && this.size < this.max) {
      this.grow();
      short--;
    }
  }

  private dropLeftWaiters(): void {
    while (this.waiters.length > 0 && !this.waiters[0]!.waiting) this.waiters.shift();
    if (this.waiters.length > 64 && this.pending * 2 < this.waiters.length) {
      const keep = this.waiters.filter((w) => w.waiting);
      this.waiters.length = 0;
      this.waiters.push(...keep);
    }
  }

  private destroyQuietly(conn: T): void {
    try {
      this.hooks.destroy(conn);
    } catch {
      // destroy must not throw; a client that does cannot corrupt the pool's accounting
    }
  }
}
