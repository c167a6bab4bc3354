// set: independent
// Feature-flag lookup with its own 300 ms budget: several early returns, one cancel in finally.
import { withTimeout, type Context } from '@ctxkit/core';

export async function flagEnabled(ctx: Context, flag: string, userId: string): Promise<boolean> {
  const { ctx: lookup, cancel } = withTimeout(ctx, 300);
  try {
    if (flag.startsWith('always-')) return true;
    const res = await fetch(`http://flags.internal/flags/${flag}?user=${userId}`, { signal: lookup.signal });
    if (res.status === 404) return false;
    if (!res.ok) throw new Error(`flags: HTTP ${res.status}`);
    const body = (await res.json()) as { enabled: boolean };
    return body.enabled;
  } finally {
    cancel();
  }
}
