// set: holdout
// Dashboard widgets load independently; failures show as empty widgets, a cancel ends the page.
import { isContextError, type Context } from '@ctxkit/core';

async function widget(ctx: Context, name: string): Promise<unknown> {
  const res = await fetch(`http://widgets.internal/${name}`, { signal: ctx.signal });
  return res.json();
}

export async function dashboard(ctx: Context, names: string[]): Promise<Record<string, unknown>> {
  const settled = await Promise.allSettled(names.map((n) => widget(ctx, n)));
  const out: Record<string, unknown> = {};
  settled.forEach((s, i) => {
    if (s.status === 'rejected' && isContextError(s.reason)) throw s.reason;
    out[names[i]!] = s.status === 'fulfilled' ? s.value : null;
  });
  return out;
}
