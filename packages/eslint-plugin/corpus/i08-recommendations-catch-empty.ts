// set: independent
// Product page assembly: recommendations are optional, so any failure becomes an empty list —
// including the request's own cancellation, after which rendering carries on for nobody.
import type { Context } from '@ctxkit/core';

interface Product { id: string; name: string }

async function recommendations(ctx: Context, productId: string): Promise<Product[]> {
  const res = await fetch(`http://reco.internal/similar/${productId}`, { signal: ctx.signal });
  return (await res.json()) as Product[];
}

export async function productView(ctx: Context, product: Product): Promise<{ product: Product; similar: Product[]; html: string }> {
  const similar = await recommendations(ctx, product.id).catch(() => [] as Product[]); // expect: no-swallowed-cancel
  const html = `<h1>${product.name}</h1><ul>${similar.map((p) => `<li>${p.name}</li>`).join('')}</ul>`;
  return { product, similar, html };
}
