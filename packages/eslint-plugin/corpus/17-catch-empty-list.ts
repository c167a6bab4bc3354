// Recommendations are optional, so errors become an empty list — a cancelled request too.
import type { Context } from '@ctxkit/core';

export interface Item { id: string; title: string }

async function fetchRecs(ctx: Context, userId: string): Promise<Item[]> {
  const res = await fetch(`http://recs.internal/users/${userId}`, { signal: ctx.signal });
  return (await res.json()) as Item[];
}

export function recommendations(ctx: Context, userId: string): Promise<Item[]> {
  return fetchRecs(ctx, userId).catch(() => []); // expect: no-swallowed-cancel
}
