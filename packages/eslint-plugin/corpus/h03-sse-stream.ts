// set: holdout
// Server-sent events relay: reads the upstream stream until the client goes away.
import type { Context } from '@ctxkit/core';

export async function relay(ctx: Context, upstream: string, write: (chunk: string) => void): Promise<void> {
  const res = await fetch(upstream, { headers: { accept: 'text/event-stream' }, signal: ctx.signal });
  if (!res.body) throw new Error('no body');
  const decoder = new TextDecoder();
  for await (const chunk of res.body) {
    write(decoder.decode(chunk as Uint8Array, { stream: true }));
  }
}
