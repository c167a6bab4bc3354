import { checkContext, onEnd } from './internal.js';
import type { Context } from './context.js';
import { startOperation } from './hooks.js';

/**
 * Settles like `promise`, unless `ctx` ends first — then rejects with `ctx.err` (at once when it
 * has already ended). It does NOT stop the work behind `promise`: only that work can stop itself,
 * so hand it `ctx.signal` (or `ctx`) as well. A rejection of `promise` after `ctx` won is handled
 * (no unhandled-rejection warning). Once settled, no listener is left on `ctx`.
 */
export function race<T>(ctx: Context, promise: PromiseLike<T> | T): Promise<T> {
  checkContext(ctx, 'race');
  const op = startOperation(ctx, 'race');
  const err = ctx.err;
  if (err !== undefined) {
    Promise.resolve(promise).then(undefined, () => {});
    op.end(err);
    return Promise.reject(err);
  }
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const ob = onEnd(ctx, () => {
      settled = true;
      const e = ctx.err;
      op.end(e);
      reject(e);
    });
    Promise.resolve(promise).then(
      (v) => {
        if (settled) return;
        settled = true;
        ob?._stop();
        op.end();
        resolve(v);
      },
      (e: unknown) => {
        if (settled) return;
        settled = true;
        ob?._stop();
        op.end(e);
        reject(e);
      },
    );
  });
}
