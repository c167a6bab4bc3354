// Fans out price lookups under a child context but never releases the child.
import { withCancel, type Context } from '@ctxkit/core';

export interface Quote { vendor: string; cents: number }

async function quote(ctx: Context, vendor: string, sku: string): Promise<Quote> {
  const res = await fetch(`https://${vendor}.example.com/price/${sku}`, { signal: ctx.signal });
  return { vendor, cents: Number(await res.text()) };
}

export async function bestQuote(ctx: Context, vendors: string[], sku: string): Promise<Quote> {
  const child = withCancel(ctx); // expect: lost-cancel
  const quotes = await Promise.all(vendors.map((v) => quote(child.ctx, v, sku)));
  return quotes.reduce((a, b) => (b.cents < a.cents ? b : a));
}
