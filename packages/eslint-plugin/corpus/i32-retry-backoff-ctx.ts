// set: independent
// Generic retry with exponential back-off and jitter: a context error ends the loop at once,
// other errors are kept and retried after a context-aware sleep.
import { isContextError, sleep, type Context } from '@ctxkit/core';

export interface RetryOptions { attempts: number; baseMs: number; maxMs: number }

export async function retry<T>(ctx: Context, op: (ctx: Context) => Promise<T>, o: RetryOptions): Promise<T> {
  let lastError: unknown;
  for (let i = 0; i < o.attempts; i++) {
    try {
      return await op(ctx);
    } catch (e) {
      if (isContextError(e)) throw e;
      lastError = e;
    }
    const backoff = Math.min(o.maxMs, o.baseMs * 2 ** i);
    await sleep(ctx, backoff / 2 + Math.random() * (backoff / 2));
  }
  throw new Error(`gave up after ${o.attempts} attempts`, { cause: lastError });
}
