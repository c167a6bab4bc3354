// set: holdout
// Image resize: the worker scope is cancelled after success, but a failed resize skips it.
import { withCancel, type Context } from '@ctxkit/core';

async function resize(ctx: Context, id: string, width: number): Promise<string> {
  const res = await fetch(`http://imaging.internal/${id}?w=${width}`, { signal: ctx.signal });
  if (!res.ok) throw new Error(`resize ${id}: ${res.status}`);
  return res.text();
}

export async function variants(ctx: Context, id: string): Promise<string[]> {
  const work = withCancel(ctx); // expect: lost-cancel
  const out = await Promise.all([320, 640, 1280].map((w) => resize(work.ctx, id, w)));
  work.cancel();
  return out;
}
