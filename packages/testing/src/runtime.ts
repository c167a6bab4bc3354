/**
 * The real timers and time source, captured when this module loads so that fake timers installed
 * later (Jest's or Vitest's `useFakeTimers`) do not stall the testing tools themselves.
 * @internal
 */

type TimerFn = (fn: () => void, ms?: number) => unknown;
type ClearFn = (handle: unknown) => void;

const g = globalThis as unknown as {
  setTimeout: TimerFn;
  clearTimeout: ClearFn;
  setImmediate?: (fn: () => void) => unknown;
  performance?: { now(): number };
};

const realSetTimeout: TimerFn = g.setTimeout.bind(globalThis);
const realClearTimeout: ClearFn = g.clearTimeout.bind(globalThis);
const realSetImmediate: ((fn: () => void) => unknown) | undefined = g.setImmediate?.bind(globalThis);
const perf = g.performance;

/** Monotonic real time in milliseconds (never the manual clock). */
export function realNow(): number {
  return perf !== undefined ? perf.now() : Date.now();
}

/**
 * Resolves on a later macrotask: every microtask queued before (promise callbacks included) has
 * run by then.
 */
export function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => {
    if (realSetImmediate !== undefined) realSetImmediate(resolve);
    else realSetTimeout(resolve, 0);
  });
}

/** Waits `n` macrotask turns. */
export async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await nextTurn();
}

/** A real timer that can be cancelled: `promise` resolves after `ms` unless `cancel()` is called first. */
export function realDelay(ms: number): { promise: Promise<void>; cancel(): void } {
  let handle: unknown;
  const promise = new Promise<void>((resolve) => {
    handle = realSetTimeout(resolve, ms);
  });
  return {
    promise,
    cancel() {
      realClearTimeout(handle);
    },
  };
}

/** Schedules `fn` on a real timer; returns the handle for `clearRealTimer`. */
export function setRealTimer(fn: () => void, ms: number, keepAlive: boolean): unknown {
  const t = realSetTimeout(fn, ms) as { unref?: () => void } | undefined;
  if (!keepAlive && typeof t === 'object' && t !== null && typeof t.unref === 'function') t.unref();
  return t;
}

/** Clears a timer made by `setRealTimer`. */
export function clearRealTimer(handle: unknown): void {
  realClearTimeout(handle);
}
