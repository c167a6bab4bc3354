// Takes only the child context from withTimeout; nothing can cancel it any more.
import { withTimeout, type Context } from '@ctxkit/core';
import { setTimeout as delay } from 'node:timers/promises';

export async function pollUntilReady(ctx: Context, url: string): Promise<void> {
  const { ctx: bounded } = withTimeout(ctx, 30_000); // expect: lost-cancel
  for (;;) {
    const res = await fetch(url, { signal: bounded.signal });
    if (res.ok) return;
    await delay(500, undefined, { signal: bounded.signal });
  }
}
