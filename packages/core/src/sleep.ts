import { checkContext, onEnd } from './internal.js';
import type { Context } from './context.js';
import { getClock, MAX_TIMER_DELAY } from './clock.js';
import { startOperation } from './hooks.js';

/**
 * Waits `ms` milliseconds, or less if `ctx` ends first — then rejects with `ctx.err` (at once
 * when `ctx` has already ended). Once settled it leaves no timer and no listener behind. The
 * timer keeps the process alive like `setTimeout`. `ms` must be a number (NaN throws
 * `TypeError`); negative waits 0; `Infinity` waits until `ctx` ends.
 */
export function sleep(ctx: Context, ms: number): Promise<void> {
  checkContext(ctx, 'sleep');
  if (typeof ms !== 'number' || Number.isNaN(ms)) {
    return Promise.reject(new TypeError(`sleep: ms must be a number of milliseconds, got ${typeof ms === 'number' ? 'NaN' : typeof ms}`));
  }
  const op = startOperation(ctx, 'sleep');
  const err = ctx.err;
  if (err !== undefined) {
    op.end(err);
    return Promise.reject(err);
  }
  return new Promise<void>((resolve, reject) => {
    const clock = getClock();
    let handle: unknown;
    const ob = onEnd(ctx, () => {
      if (handle !== undefined) clock.clearTimer(handle);
      const e = ctx.err;
      op.end(e);
      reject(e);
    });
    if (ms === Infinity) return;
    const wait = Math.max(0, ms);
    const due = clock.now() + wait;
    const onTimer = (): void => {
      handle = undefined;
      // Waits longer than a platform timer holds are armed in segments.
      const left = due - clock.now();
      if (wait > MAX_TIMER_DELAY && left > 0) {
        handle = clock.setTimer(onTimer, Math.min(MAX_TIMER_DELAY, left), true);
        return;
      }
      ob?._stop();
      op.end();
      resolve();
    };
    handle = clock.setTimer(onTimer, Math.min(MAX_TIMER_DELAY, wait), true);
  });
}
