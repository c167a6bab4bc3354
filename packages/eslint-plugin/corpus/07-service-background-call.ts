// Checkout calls the pricing module with a fresh root instead of the request context.
import { background, type Context } from '@ctxkit/core';

interface Cart { items: Array<{ sku: string; qty: number }> }

async function priceCart(ctx: Context, cart: Cart): Promise<number> {
  let total = 0;
  for (const item of cart.items) {
    const res = await fetch(`http://pricing.internal/${item.sku}`, { signal: ctx.signal });
    total += Number(await res.text()) * item.qty;
  }
  return total;
}

export async function checkout(ctx: Context, cart: Cart): Promise<{ total: number }> {
  const total = await priceCart(background(), cart); // expect: pass-context, no-background-in-scope
  ctx.throwIfDone();
  return { total };
}
