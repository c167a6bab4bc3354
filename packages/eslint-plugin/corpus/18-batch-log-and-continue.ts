// Batch export: a failing item is logged and skipped; after a cancel every remaining item "fails" too.
import type { Context } from '@ctxkit/core';

async function exportOne(ctx: Context, id: string): Promise<void> {
  const res = await fetch(`http://export.internal/items/${id}`, { method: 'POST', signal: ctx.signal });
  if (!res.ok) throw new Error(`export of ${id} failed: ${res.status}`);
}

export async function exportAll(ctx: Context, ids: string[]): Promise<number> {
  let done = 0;
  for (const id of ids) {
    try {
      await exportOne(ctx, id);
      done++;
    } catch (err) { // expect: no-swallowed-cancel
      console.error('export failed, skipping', id, err);
    }
  }
  return done;
}
