// set: independent
// Server-sent events over node:http: a child scope per subscriber, cancelled from the response's
// 'close' callback; the ticker stops when the subscriber leaves.
import type { ServerResponse } from 'node:http';
import { setInterval as every } from 'node:timers/promises';
import { isContextError, withCancel, type Context } from '@ctxkit/core';

export async function streamPrices(ctx: Context, res: ServerResponse, symbol: string): Promise<void> {
  const sub = withCancel(ctx);
  res.on('close', () => sub.cancel());
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  try {
    for await (const _ of every(1_000, undefined, { signal: sub.ctx.signal })) {
      const r = await fetch(`http://quotes.internal/last/${symbol}`, { signal: sub.ctx.signal });
      res.write(`data: ${await r.text()}\n\n`);
    }
  } catch (e) {
    if (!isContextError(e)) throw e;
  } finally {
    res.end();
  }
}
