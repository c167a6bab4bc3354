// Loads every attachment in parallel; the closures forget the signal.
import type { Context } from '@ctxkit/core';

export async function loadAttachments(ctx: Context, ids: string[]): Promise<ArrayBuffer[]> {
  ctx.throwIfDone();
  return Promise.all(
    ids.map(async (id) => {
      const res = await fetch(`http://files.internal/${id}`); // expect: pass-context
      return res.arrayBuffer();
    }),
  );
}
