// Each retry wraps the previous attempt's context in a new timeout: the chain grows and no scope is released.
import { withTimeout, isContextError, type Context } from '@ctxkit/core';

export async function fetchWithRetry(ctx: Context, url: string, tries = 3): Promise<Response> {
  let attemptCtx = ctx;
  for (let i = 0; i < tries; i++) {
    attemptCtx = withTimeout(attemptCtx, 1_000).ctx; // expect: no-value-in-loop, lost-cancel
    try {
      return await fetch(url, { signal: attemptCtx.signal });
    } catch (e) {
      if (isContextError(e) && ctx.err) throw e;
    }
  }
  throw new Error(`gave up on ${url} after ${tries} tries`);
}
