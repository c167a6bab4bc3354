// Repository call bounded by `using`: cancelled on every path, including throws.
import { withTimeout, type Context } from '@ctxkit/core';

export interface Product { sku: string; name: string; cents: number }

export async function getProduct(ctx: Context, sku: string): Promise<Product | undefined> {
  using scope = withTimeout(ctx, 1_000);
  const res = await fetch(`http://catalog.internal/products/${sku}`, { signal: scope.ctx.signal });
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`catalog answered ${res.status}`);
  return (await res.json()) as Product;
}
