// set: independent
// Chat relay: iterates an emitter's 'message' events with the connection's signal and gives each
// message its own 5 s budget in a fresh child (no re-assignment).
import { on } from 'node:events';
import type { EventEmitter } from 'node:events';
import { withTimeout, type Context } from '@ctxkit/core';

export async function relay(ctx: Context, socket: EventEmitter, forward: (ctx: Context, text: string) => Promise<void>): Promise<void> {
  for await (const [text] of on(socket, 'message', { signal: ctx.signal })) {
    using perMessage = withTimeout(ctx, 5_000);
    await forward(perMessage.ctx, String(text));
  }
}
