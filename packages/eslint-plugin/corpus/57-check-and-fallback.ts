// Falls back to defaults when the flag service is down, but never hides a cancellation.
import { isContextError, type Context } from '@ctxkit/core';

const DEFAULTS: Record<string, boolean> = { newCheckout: false, darkMode: true };

export async function flags(ctx: Context, tenant: string): Promise<Record<string, boolean>> {
  try {
    const res = await fetch(`http://flags.internal/${tenant}`, { signal: ctx.signal });
    if (!res.ok) return DEFAULTS;
    return { ...DEFAULTS, ...((await res.json()) as Record<string, boolean>) };
  } catch (e) {
    if (isContextError(e)) throw e;
    return DEFAULTS;
  }
}
