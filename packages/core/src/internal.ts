/** @internal Shared helpers for core modules; not part of the public API. */
export { onEnd, isContext, attach, Observer } from './context.js';
import { assertContext } from './context.js';
import type { BaseContext } from './context.js';

/** Throws a `TypeError` naming `fn` when `ctx` is not a Context. */
export function checkContext(ctx: unknown, fn: string): asserts ctx is BaseContext {
  assertContext(ctx, `${fn}: ctx`);
}
