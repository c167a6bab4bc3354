/** @internal Shared helpers for core modules; not part of the public API. */
export { onEnd, isContext, attach, Observer } from './context.js';
import { isContext } from './context.js';
import type { BaseContext } from './context.js';

/** Throws a `TypeError` naming `fn` when `ctx` is not a Context. */
export function checkContext(ctx: unknown, fn: string): asserts ctx is BaseContext {
  if (!isContext(ctx)) throw new TypeError(`${fn}: ctx must be a Context from @ctxkit/core, got ${ctx === null ? 'null' : typeof ctx}`);
}
