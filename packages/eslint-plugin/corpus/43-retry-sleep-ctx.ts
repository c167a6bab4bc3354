// Retries transient failures, backing off with sleep(ctx) and never retrying a cancellation.
import { isContextError, sleep, type Context } from '@ctxkit/core';

export async function putWithRetry(ctx: Context, url: string, body: string, attempts = 4): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      const res = await fetch(url, { method: 'PUT', body, signal: ctx.signal });
      if (res.status < 500) return;
      throw new Error(`server error ${res.status}`);
    } catch (e) {
      if (isContextError(e) || i === attempts) throw e;
    }
    await sleep(ctx, 50 * 2 ** i);
  }
}
