// Optional enrichment: errors are ignored unless the caller's context has ended.
import type { Context } from '@ctxkit/core';

export interface Article { id: string; body: string; related?: string[] }

async function related(ctx: Context, id: string): Promise<string[]> {
  const res = await fetch(`http://related.internal/${id}`, { signal: ctx.signal });
  return (await res.json()) as string[];
}

export async function enrich(ctx: Context, a: Article): Promise<Article> {
  const rel = await related(ctx, a.id).catch((e: unknown) => {
    if (ctx.err !== undefined) throw e;
    return undefined;
  });
  return rel ? { ...a, related: rel } : a;
}
