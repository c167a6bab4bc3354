// Express route bridging the socket's close into a context, never releasing the bridge.
import type { Request, Response } from 'express';
import { fromSignal, withTimeout, type Context } from '@ctxkit/core';

async function report(ctx: Context, id: string): Promise<string> {
  const res = await fetch(`http://reports.internal/${id}`, { signal: ctx.signal });
  return res.text();
}

export function reportRoute(root: Context) {
  return async (req: Request, res: Response): Promise<void> => {
    const closed = new AbortController();
    res.on('close', () => closed.abort());
    const { ctx } = fromSignal(root, closed.signal); // expect: lost-cancel
    using deadline = withTimeout(ctx, 10_000);
    res.send(await report(deadline.ctx, String(req.params.id)));
  };
}
