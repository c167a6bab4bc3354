import { describeValue } from './describe.js';
import { getClock, MAX_TIMER_DELAY } from './clock.js';
import type { Context } from './context.js';
import { checkContext } from './internal.js';
import { operation } from './operation.js';

/**
 * Waits `ms` milliseconds, or less if `ctx` ends first — then rejects with `ctx.err` (at once
 * when `ctx` has already ended). Once settled it leaves no timer and no listener behind. The
 * timer keeps the process alive like `setTimeout`. `ms` must be a number (NaN throws
 * `TypeError`); negative waits 0; `Infinity` waits until `ctx` ends.
 */
export function sleep(ctx: Context, ms: number): Promise<void> {
  checkContext(ctx, 'sleep');
  if (typeof ms !== 'number' || Number.isNaN(ms)) {
    return Promise.reject(new TypeError(`sleep: ms must be a number of milliseconds, got ${describeValue(ms)}`));
  }
  return operation<void>(ctx, 'sleep', (settle) => {
    if (ms === Infinity) return undefined;
    const clock = getClock();
    const wait = Math.max(0, ms);
    const due = clock.now() + wait;
    let handle: unknown;
    const onTimer = (): void => {
      handle = undefined;
      // Waits longer than a platform timer holds are armed in segments.
      const left = due - clock.now();
      if (wait > MAX_TIMER_DELAY && left > 0) {
        handle = clock.setTimer(onTimer, Math.min(MAX_TIMER_DELAY, left), true);
        return;
      }
      settle.resolve();
    };
    handle = clock.setTimer(onTimer, Math.min(MAX_TIMER_DELAY, wait), true);
    return () => {
      if (handle !== undefined) clock.clearTimer(handle);
    };
  });
}
