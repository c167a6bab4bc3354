// set: independent
// Search service whose functions take an options object carrying the context; every call hands
// the same context on inside the object.
import type { Context } from '@ctxkit/core';

export interface SearchOptions { ctx: Context; query: string; limit?: number }

async function searchIndex({ ctx, query, limit = 20 }: SearchOptions): Promise<string[]> {
  const res = await fetch(`http://search.internal/q?s=${encodeURIComponent(query)}&n=${limit}`, { signal: ctx.signal });
  return (await res.json()) as string[];
}

export async function searchWithSpelling(opts: SearchOptions): Promise<string[]> {
  const hits = await searchIndex(opts);
  if (hits.length > 0) return hits;
  const res = await fetch(`http://speller.internal/suggest?s=${encodeURIComponent(opts.query)}`, { signal: opts.ctx.signal });
  const suggestion = await res.text();
  return suggestion ? searchIndex({ ...opts, query: suggestion }) : [];
}
