// A minimal clock for core's own tests (the full-featured one is @ctxkit/testing's useManualClock).
import { installClock, type Clock } from '@ctxkit/core';

export interface FakeClock extends Clock {
  /** Moves time forward, firing due timers in due order, synchronously. */
  tick(ms: number): void;
  pending(): number;
  /** Due times of the pending timers. */
  dues(): number[];
  restore(): void;
}

export function fakeClock(start = 1_700_000_000_000): FakeClock {
  let now = start;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void; keepAlive: boolean }>();
  const clock: FakeClock = {
    now: () => now,
    setTimer(fn, ms, keepAlive) {
      const id = ++seq;
      timers.set(id, { at: now + Math.max(0, ms), fn, keepAlive });
      return id;
    },
    clearTimer(h) {
      timers.delete(h as number);
    },
    tick(ms) {
      const target = now + ms;
      for (;;) {
        let best: [number, { at: number; fn: () => void }] | undefined;
        for (const e of timers) if (e[1].at <= target && (!best || e[1].at < best[1].at)) best = e;
        if (!best) break;
        timers.delete(best[0]);
        now = best[1].at;
        best[1].fn();
      }
      now = target;
    },
    pending: () => timers.size,
    dues: () => [...timers.values()].map((t) => t.at),
    restore: () => restore(),
  };
  const restore = installClock(clock);
  return clock;
}

/** True while `ctx` has not ended (a function, so TypeScript does not narrow `ctx.err` across `cancel()`). */
export function isLive(ctx: { readonly err: unknown }): boolean {
  return ctx.err === undefined;
}
