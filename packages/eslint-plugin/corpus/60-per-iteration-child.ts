// Each item gets its own bounded child of the batch context; nothing accumulates.
import { withTimeout, type Context } from '@ctxkit/core';

export async function pingAll(ctx: Context, hosts: string[]): Promise<Map<string, boolean>> {
  const up = new Map<string, boolean>();
  for (const host of hosts) {
    using attempt = withTimeout(ctx, 500);
    try {
      const res = await fetch(`http://${host}/healthz`, { signal: attempt.ctx.signal });
      up.set(host, res.ok);
    } catch (e) {
      ctx.throwIfDone();
      up.set(host, false);
      void e;
    }
  }
  return up;
}
