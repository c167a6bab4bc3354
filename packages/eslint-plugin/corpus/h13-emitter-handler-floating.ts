// set: holdout
// On every "order" event the consumer starts a save and moves on, unawaited and unhandled.
import type { EventEmitter } from 'node:events';
import type { Context } from '@ctxkit/core';

async function save(ctx: Context, order: { id: string }): Promise<void> {
  await fetch(`http://orders.internal/${order.id}`, { method: 'PUT', body: JSON.stringify(order), signal: ctx.signal });
}

export function listen(ctx: Context, bus: EventEmitter): void {
  bus.on('order', (order: { id: string }) => {
    save(ctx, order); // expect: no-floating-work
  });
}
