/**
 * A manual clock for tests: time stands still until the test calls `advance(ms)`.
 *
 * Rules of use:
 * - `useManualClock()` installs it as core's clock at once; call `restore()` when the test ends
 *   (in a `finally` or an after-each hook). Restores must happen in reverse order of installs.
 * - Everything that reads time through core's clock follows it: `withTimeout`/`withDeadline`
 *   deadlines, `remaining`, `sleep`, and every ctxkit integration (they schedule their timers on
 *   `getClock()`). `Date.now()` and the platform's `setTimeout` are NOT faked.
 * - `advance(ms)` is async: always `await` it. It fires every timer due within the window in
 *   deadline order (ties in scheduling order), setting `now()` to each timer's due time as it
 *   fires, and lets promise callbacks run after each firing, so code awaiting a `sleep` has moved
 *   on (and may have scheduled further timers, which fire too if due) before `advance` returns.
 * - A timer due "now" (0 ms) fires on the next `advance`, `advance(0)` included — never by itself.
 * - `restore()` moves timers still pending onto the real clock with their remaining delay, so
 *   nothing waits forever because the test forgot to advance.
 */
import { installClock, type Clock } from '@ctxkit/core';
import { nextTurn, setRealTimer, clearRealTimer } from './runtime.js';

/** The handle the manual clock returns from `setTimer`. */
class ManualTimer {
  /** Set once the timer fired or was cleared. */
  done = false;
  /** The real timer it was moved to by `restore()`. */
  real: unknown = undefined;
  constructor(
    readonly fn: () => void,
    readonly due: number,
    readonly seq: number,
    readonly keepAlive: boolean,
  ) {}
}

function before(a: ManualTimer, b: ManualTimer): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}

/** A binary min-heap of timers by (due, seq); cleared timers are dropped lazily. */
class TimerHeap {
  private readonly items: ManualTimer[] = [];

  push(t: ManualTimer): void {
    const a = this.items;
    a.push(t);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  /** The earliest live timer, without removing it. */
  peek(): ManualTimer | undefined {
    while (this.items.length > 0 && this.items[0]!.done) this.pop();
    return this.items[0];
  }

  pop(): ManualTimer | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l]!, a[m]!)) m = l;
        if (r < a.length && before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }

  /** Removes and returns every live timer. */
  drain(): ManualTimer[] {
    const out = this.items.filter((t) => !t.done);
    this.items.length = 0;
    return out;
  }
}

/** What `useManualClock` returns. */
export interface ManualClock extends Disposable {
  /** The manual time, epoch milliseconds. */
  now(): number;
  /**
   * Moves time forward by `ms` (a finite number ≥ 0), firing every timer due on the way in
   * deadline order and letting promise callbacks run after each; resolves when time has reached
   * `now() + ms` and the callbacks of the last firing have run. Calls made while one is running
   * are queued and run after it. Rejects with the error a timer callback threw (time then stays at
   * that timer's due time), or `TypeError` for a bad `ms`.
   */
  advance(ms: number): Promise<void>;
  /**
   * Advances to the earliest pending timer and fires everything due then (as `advance`). Resolves
   * `false` (and does nothing) when no timer is pending.
   */
  next(): Promise<boolean>;
  /** How many timers are scheduled and not yet fired or cleared (deadline and sleep timers included). */
  pending(): number;
  /** Due time (epoch ms) of the earliest pending timer; `undefined` when none. */
  nextDue(): number | undefined;
  /**
   * Puts the previous clock back and moves still-pending timers onto real timers with their
   * remaining delay. Idempotent. Also runs on `Symbol.dispose` (`using clock = useManualClock()`).
   */
  restore(): void;
}

const MAX_FIRINGS_PER_ADVANCE = 1_000_000;

/**
 * Installs a manual clock as core's clock, starting at `startEpochMs` (default: the real
 * `Date.now()` at the call), and returns its controls. See the module rules: await `advance`,
 * and call `restore()` when done.
 */
export function useManualClock(startEpochMs?: number): ManualClock {
  if (startEpochMs !== undefined && (typeof startEpochMs !== 'number' || !Number.isFinite(startEpochMs))) {
    throw new TypeError(`useManualClock: startEpochMs must be a finite number of epoch milliseconds, got ${String(startEpochMs)}`);
  }
  let now = startEpochMs ?? Date.now();
  let seq = 0;
  let live = 0;
  let restored = false;
  const heap = new TimerHeap();
  let queue: Promise<unknown> = Promise.resolve();

  const clock: Clock = {
    now: () => now,
    setTimer(fn, ms, keepAlive) {
      if (typeof fn !== 'function') throw new TypeError('manual clock setTimer: fn must be a function');
      const delay = typeof ms === 'number' && ms > 0 ? ms : 0;
      const t = new ManualTimer(fn, now + delay, seq++, keepAlive);
      if (restored) {
        // Someone kept a reference to this clock after restore(): behave like the real one.
        t.real = setRealTimer(() => fire(t), delay, keepAlive);
        return t;
      }
      live++;
      heap.push(t);
      return t;
    },
    clearTimer(handle) {
      if (!(handle instanceof ManualTimer) || handle.done) return;
      handle.done = true;
      if (handle.real !== undefined) clearRealTimer(handle.real);
      else live--;
    },
  };

  function fire(t: ManualTimer): void {
    if (t.done) return;
    t.done = true;
    t.fn();
  }

  async function runUntil(target: number): Promise<void> {
    let firings = 0;
    for (;;) {
      if (restored) return;
      const t = heap.peek();
      if (t === undefined || t.due > target) break;
      heap.pop();
      if (++firings > MAX_FIRINGS_PER_ADVANCE) {
        throw new Error(
          `ManualClock.advance: more than ${MAX_FIRINGS_PER_ADVANCE} timers fired in one advance; a timer keeps rescheduling itself with no delay`,
        );
      }
      if (t.due > now) now = t.due;
      live--;
      fire(t);
      await nextTurn();
    }
    if (target > now) now = target;
    await nextTurn();
  }

  function enqueue<T>(job: () => Promise<T>): Promise<T> {
    const run = queue.then(job, job);
    queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  const restoreClock = installClock(clock);

  const controls: ManualClock = {
    now: () => now,
    advance(ms: number): Promise<void> {
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
        return Promise.reject(new TypeError(`ManualClock.advance: ms must be a finite number >= 0, got ${String(ms)}`));
      }
      if (restored) return Promise.reject(new Error('ManualClock.advance: the clock was restored'));
      return enqueue(() => runUntil(now + ms));
    },
    next(): Promise<boolean> {
      if (restored) return Promise.reject(new Error('ManualClock.next: the clock was restored'));
      return enqueue(async () => {
        const t = heap.peek();
        if (t === undefined) return false;
        await runUntil(Math.max(now, t.due));
        return true;
      });
    },
    pending: () => live,
    nextDue: () => heap.peek()?.due,
    restore(): void {
      if (restored) return;
      restored = true;
      // Core first: its deadline queue clears its timer here and re-arms on the previous clock.
      restoreClock();
      for (const t of heap.drain()) {
        live--;
        t.real = setRealTimer(() => fire(t), Math.max(0, t.due - now), t.keepAlive);
      }
    },
    [Symbol.dispose](): void {
      controls.restore();
    },
  };
  return controls;
}
