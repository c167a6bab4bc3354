// set: independent
// Koa product page: a 1.5 s budget for the catalog call, but the cache hit returns before the
// try/finally that cancels the scope, so every cached request leaves a queued deadline behind.
import type Koa from 'koa';
import { withTimeout } from '@ctxkit/core';
import { getContext } from '@ctxkit/http/koa';

const cache = new Map<string, { body: string; at: number }>();

export async function productPage(kctx: Koa.Context): Promise<void> {
  const ctx = getContext(kctx);
  const sku = String(kctx.params?.sku ?? '');
  const scope = withTimeout(ctx, 1_500); // expect: lost-cancel
  const hit = cache.get(sku);
  if (hit && Date.now() - hit.at < 30_000) {
    kctx.body = hit.body;
    return;
  }
  try {
    const res = await fetch(`http://catalog.internal/products/${encodeURIComponent(sku)}`, { signal: scope.ctx.signal });
    const body = await res.text();
    cache.set(sku, { body, at: Date.now() });
    kctx.body = body;
  } finally {
    scope.cancel();
  }
}
