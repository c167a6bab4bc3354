// A queue consumer that processes each message on a fresh root instead of the consumer's context.
import { background, withTimeout, type Context } from '@ctxkit/core';

interface Message { id: string; body: string; ack(): Promise<void> }
interface Queue { next(ctx: Context): Promise<Message> }

async function handle(ctx: Context, msg: Message): Promise<void> {
  await fetch('http://indexer.internal/docs', { method: 'PUT', body: msg.body, signal: ctx.signal });
}

export async function consume(ctx: Context, queue: Queue): Promise<never> {
  for (;;) {
    const msg = await queue.next(ctx);
    using perMessage = withTimeout(background(), 30_000); // expect: pass-context, no-background-in-scope
    await handle(perMessage.ctx, msg);
    await msg.ack();
  }
}
