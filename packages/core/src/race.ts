import type { Context } from './context.js';
import { checkContext } from './internal.js';
import { operation } from './operation.js';

function ignore(): void {}

/**
 * Settles like `promise`, unless `ctx` ends first — then rejects with `ctx.err` (at once when it
 * has already ended). It does NOT stop the work behind `promise`: only that work can stop itself,
 * so hand it `ctx.signal` (or `ctx`) as well. A rejection of `promise` after `ctx` won is handled
 * (no unhandled-rejection warning). Once settled, no listener is left on `ctx`.
 */
export function race<T>(ctx: Context, promise: PromiseLike<T> | T): Promise<T> {
  checkContext(ctx, 'race');
  if (ctx.err !== undefined) Promise.resolve(promise).then(undefined, ignore); // not raced: still handled
  return operation<T>(ctx, 'race', (settle) => {
    settle.resolve(promise);
  });
}
