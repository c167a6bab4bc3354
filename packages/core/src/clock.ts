/**
 * The clock core reads time from and schedules every deadline and sleep timer on.
 *
 * Rules of use:
 * - Replace it only in tests (`@ctxkit/testing`'s `useManualClock` does), and always restore it:
 *   `const restore = installClock(c); try { … } finally { restore(); }`.
 * - Deadlines are epoch milliseconds read from `clock.now()`.
 * - A clock must call a scheduled callback at most once, never synchronously inside `setTimer`.
 */
export interface Clock {
  /** Current time, epoch milliseconds. */
  now(): number;
  /**
   * Calls `fn` once after `ms` milliseconds. When `keepAlive` is false the timer must not keep
   * the process alive (Node's `unref`). Returns a handle for `clearTimer`.
   */
  setTimer(fn: () => void, ms: number, keepAlive: boolean): unknown;
  /** Cancels a timer made by `setTimer`; a handle that already fired or was cleared is ignored. */
  clearTimer(handle: unknown): void;
}

/**
 * The largest budget ctxkit ever applies or sends: 2^31 − 1 ms (~24.8 days), the longest delay a
 * platform timer holds (Node fires a longer one after 1 ms). Inbound budgets (headers, message
 * properties, gRPC deadlines) are capped at it; core's own waits longer than it are armed in
 * segments. The one ceiling every package uses.
 */
export const MAX_BUDGET_MS = 2_147_483_647;

/** @internal The longest delay `setTimer` is ever asked for: `MAX_BUDGET_MS`. */
export const MAX_TIMER_DELAY = MAX_BUDGET_MS;

/** The platform clock: `Date.now`, `setTimeout`, `clearTimeout`. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms, keepAlive) {
    const t = setTimeout(fn, ms) as unknown as { unref?: () => void };
    if (!keepAlive && typeof t === 'object' && t !== null && typeof t.unref === 'function') t.unref();
    return t;
  },
  clearTimer(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

let active: Clock = systemClock;
const listeners: Array<(prev: Clock, next: Clock) => void> = [];

/** The clock in force. */
export function getClock(): Clock {
  return active;
}

/** @internal Called when the clock is swapped (the deadline queue re-arms its timer). */
export function onClockChange(fn: (prev: Clock, next: Clock) => void): void {
  listeners.push(fn);
}

function validateClock(clock: Clock): void {
  if (
    clock === null ||
    typeof clock !== 'object' ||
    typeof clock.now !== 'function' ||
    typeof clock.setTimer !== 'function' ||
    typeof clock.clearTimer !== 'function'
  ) {
    throw new TypeError('installClock: clock must have now(), setTimer(fn, ms, keepAlive) and clearTimer(handle)');
  }
}

/**
 * Makes `clock` the clock for every deadline, `remaining`, and `sleep`. Pending deadline timers
 * move to the new clock at once. Returns `restore()`, which puts the previous clock back (call it
 * exactly once, in reverse order of installs).
 */
export function installClock(clock: Clock): () => void {
  validateClock(clock);
  const prev = active;
  swap(clock);
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    swap(prev);
  };
}

function swap(next: Clock): void {
  const prev = active;
  if (prev === next) return;
  active = next;
  for (const fn of listeners) fn(prev, next);
}
