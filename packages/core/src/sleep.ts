import { checkContext, onEnd } from './internal.js';
import type { Context } from './context.js';
import { getClock } from './clock.js';
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
    handle = clock.setTimer(() => {
      handle = undefined;
      ob?._stop();
      op.end();
      resolve();
    }, Math.max(0, ms), true);
  });
}
