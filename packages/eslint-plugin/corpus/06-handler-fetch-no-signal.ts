// Order handler calls the inventory service without handing on the request's context.
import type { Context } from '@ctxkit/core';

export interface Order { id: string; sku: string; qty: number }

export async function reserveStock(ctx: Context, order: Order): Promise<boolean> {
  ctx.throwIfDone();
  const res = await fetch('http://inventory.internal/reserve', { // expect: pass-context
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sku: order.sku, qty: order.qty }),
  });
  return res.ok;
}
