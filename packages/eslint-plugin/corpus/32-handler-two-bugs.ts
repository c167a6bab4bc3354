// Search handler: the per-backend timeout scope leaks, and the spelling service gets no signal.
import { withTimeout, type Context } from '@ctxkit/core';

export interface SearchResult { hits: string[]; suggestion?: string }

export async function search(ctx: Context, q: string): Promise<SearchResult> {
  const backend = withTimeout(ctx, 800); // expect: lost-cancel
  const res = await fetch(`http://search.internal/?q=${encodeURIComponent(q)}`, { signal: backend.ctx.signal });
  const hits = (await res.json()) as string[];
  if (hits.length > 0) return { hits };
  const spell = await fetch(`http://spell.internal/?q=${encodeURIComponent(q)}`); // expect: pass-context
  return { hits, suggestion: await spell.text() };
}
