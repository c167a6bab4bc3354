// errgroup-style fan-out: first failure cancels the rest; wait() releases the group's context.
import { Group, type Context } from '@ctxkit/core';

async function thumbnailFor(ctx: Context, id: string): Promise<void> {
  const res = await fetch(`http://media.internal/${id}/thumbnail`, { method: 'POST', signal: ctx.signal });
  if (!res.ok) throw new Error(`thumbnail ${id}: ${res.status}`);
}

export async function thumbnails(ctx: Context, ids: string[]): Promise<void> {
  const group = new Group(ctx, { limit: 4 });
  for (const id of ids) group.go((c) => thumbnailFor(c, id));
  await group.wait();
}
