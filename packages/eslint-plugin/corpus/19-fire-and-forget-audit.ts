// Writes an audit record without waiting; it is cancelled halfway when the request ends.
import type { Context } from '@ctxkit/core';

async function audit(ctx: Context, actor: string, action: string): Promise<void> {
  await fetch('http://audit.internal/events', {
    method: 'POST',
    body: JSON.stringify({ actor, action, at: Date.now() }),
    signal: ctx.signal,
  });
}

export async function deleteDocument(ctx: Context, actor: string, docId: string): Promise<void> {
  const res = await fetch(`http://docs.internal/${docId}`, { method: 'DELETE', signal: ctx.signal });
  if (!res.ok) throw new Error(`delete failed: ${res.status}`);
  audit(ctx, actor, `delete ${docId}`); // expect: no-floating-work
}
