// Cache-aside read: the early return on a cache hit leaks the scope.
import { withTimeout, type Context } from '@ctxkit/core';

const cache = new Map<string, string>();

export async function getProfile(ctx: Context, id: string): Promise<string> {
  const { ctx: c, cancel } = withTimeout(ctx, 1_500); // expect: lost-cancel
  const hit = cache.get(id);
  if (hit !== undefined) return hit;
  try {
    const res = await fetch(`http://profiles.internal/${id}`, { signal: c.signal });
    const body = await res.text();
    cache.set(id, body);
    return body;
  } finally {
    cancel();
  }
}
