// set: holdout
// Walks a redirect chain, stacking the hop count into the context on every hop.
import { createKey, withValue, type Context } from '@ctxkit/core';

const hopKey = createKey<number>('hop', 0);

export async function follow(ctx: Context, url: string, maxHops = 5): Promise<string> {
  let current = url;
  let hopCtx = ctx;
  while ((hopCtx.value(hopKey) ?? 0) < maxHops) {
    const res = await fetch(current, { redirect: 'manual', signal: hopCtx.signal });
    const next = res.headers.get('location');
    if (!next) return current;
    current = new URL(next, current).toString();
    hopCtx = withValue(hopCtx, hopKey, (hopCtx.value(hopKey) ?? 0) + 1); // expect: no-value-in-loop
  }
  throw new Error(`too many redirects from ${url}`);
}
