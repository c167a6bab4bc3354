// set: independent
// NATS-style subscription loop tagging the context with the message id. `ctx` is re-bound each
// message, so after a day the worker's context is a chain of a million values.
import { createKey, withValue, type Context } from '@ctxkit/core';

const messageIdKey = createKey<string>('messageId');

interface Msg { id: string; subject: string; data: Uint8Array }

export async function consume(ctx: Context, sub: AsyncIterable<Msg>, handle: (ctx: Context, m: Msg) => Promise<void>): Promise<void> {
  for await (const msg of sub) {
    ctx = withValue(ctx, messageIdKey, msg.id); // expect: no-value-in-loop
    await handle(ctx, msg);
    if (ctx.err) break;
  }
}
