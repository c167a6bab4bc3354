// Stale-while-revalidate: serves the cached copy and refreshes it on a detached context.
import { withTimeout, withoutCancel, type Context } from '@ctxkit/core';

const entries = new Map<string, { value: string; at: number }>();

async function refresh(ctx: Context, key: string): Promise<void> {
  using scope = withTimeout(ctx, 5_000);
  const res = await fetch(`http://origin.internal/${key}`, { signal: scope.ctx.signal });
  entries.set(key, { value: await res.text(), at: Date.now() });
}

export async function get(ctx: Context, key: string): Promise<string> {
  const e = entries.get(key);
  if (e && Date.now() - e.at < 60_000) return e.value;
  if (e) {
    refresh(withoutCancel(ctx), key).catch((err) => console.warn('refresh failed', key, err));
    return e.value;
  }
  await refresh(ctx, key);
  return entries.get(key)!.value;
}
