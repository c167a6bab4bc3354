// A todo() left from a refactor, inside a function that now has a context.
import { todo, type Context } from '@ctxkit/core';

async function loadFlags(ctx: Context, tenant: string): Promise<Record<string, boolean>> {
  const res = await fetch(`http://flags.internal/${tenant}`, { signal: ctx.signal });
  return (await res.json()) as Record<string, boolean>;
}

export async function isEnabled(ctx: Context, tenant: string, flag: string): Promise<boolean> {
  const flags = await loadFlags(todo(), tenant); // expect: pass-context, no-background-in-scope
  return flags[flag] === true;
}
