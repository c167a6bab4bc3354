// set: independent
// Config poller: start() makes a scope under the service context and returns it; the caller
// (the service's shutdown) cancels it. The loop's promise is kept and awaited on stop.
import { isContextError, sleep, withCancel, type CancelScope, type Context } from '@ctxkit/core';

async function pollLoop(ctx: Context, url: string, apply: (cfg: unknown) => void): Promise<void> {
  while (!ctx.err) {
    const res = await fetch(url, { signal: ctx.signal });
    if (res.ok) apply(await res.json());
    await sleep(ctx, 15_000);
  }
}

export function startPoller(ctx: Context, url: string, apply: (cfg: unknown) => void): { scope: CancelScope; done: Promise<void> } {
  const scope = withCancel(ctx);
  const done = pollLoop(scope.ctx, url, apply).catch((e: unknown) => {
    if (!isContextError(e)) console.error('config poller stopped', e);
  });
  return { scope, done };
}
