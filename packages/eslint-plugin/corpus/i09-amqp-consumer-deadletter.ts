// set: independent
// Queue worker loop: a failed message is rejected without requeue (dead-lettered). On shutdown the
// worker's context ends mid-message and the interrupted message goes to the DLQ as if poisoned.
import { sleep, type Context } from '@ctxkit/core';

interface Message { content: Buffer; fields: { deliveryTag: number } }
interface Channel {
  get(queue: string): Promise<Message | false>;
  ack(msg: Message): void;
  nack(msg: Message, allUpTo?: boolean, requeue?: boolean): void;
}

async function handleOrderEvent(ctx: Context, event: { orderId: string }): Promise<void> {
  const res = await fetch(`http://fulfilment.internal/orders/${event.orderId}/ship`, { method: 'POST', signal: ctx.signal });
  if (!res.ok) throw new Error(`ship ${event.orderId}: HTTP ${res.status}`);
}

export async function runWorker(ctx: Context, ch: Channel, log: { error(...a: unknown[]): void }): Promise<void> {
  while (!ctx.err) {
    const msg = await ch.get('orders.shipped');
    if (!msg) {
      await sleep(ctx, 250);
      continue;
    }
    try {
      await handleOrderEvent(ctx, JSON.parse(msg.content.toString()) as { orderId: string });
      ch.ack(msg);
    } catch (err) { // expect: no-swallowed-cancel
      log.error('order event failed', err);
      ch.nack(msg, false, false);
    }
  }
}
