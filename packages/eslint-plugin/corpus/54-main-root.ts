// Process entry point: the root context is made here and cancelled on SIGTERM.
import { background, withCancel, type Context } from '@ctxkit/core';

async function serve(ctx: Context, port: number): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${port}/ready`, { signal: ctx.signal });
  if (!res.ok) throw new Error('not ready');
  await ctx.done;
}

export async function main(): Promise<void> {
  const root = withCancel(background());
  process.once('SIGTERM', () => root.cancel(new Error('SIGTERM')));
  try {
    await serve(root.ctx, Number(process.env.PORT ?? 8080));
  } finally {
    root.cancel();
  }
}
