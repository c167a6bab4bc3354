// Read-through cache: any failure of the origin, cancellation included, becomes "use stale".
import type { Context } from '@ctxkit/core';

const stale = new Map<string, string>();

export async function readThrough(ctx: Context, key: string): Promise<string | undefined> {
  try {
    const res = await fetch(`http://origin.internal/${key}`, { signal: ctx.signal });
    const value = await res.text();
    stale.set(key, value);
    return value;
  } catch { // expect: no-swallowed-cancel
    return stale.get(key);
  }
}
