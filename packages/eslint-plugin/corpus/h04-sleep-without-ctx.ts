// set: holdout
// Rate-limited crawler: pauses between pages with a bare timer promise.
import { setTimeout as pause } from 'node:timers/promises';
import type { Context } from '@ctxkit/core';

export async function crawl(ctx: Context, urls: string[], gapMs: number): Promise<string[]> {
  const pages: string[] = [];
  for (const url of urls) {
    const res = await fetch(url, { signal: ctx.signal });
    pages.push(await res.text());
    await pause(gapMs); // expect: pass-context
  }
  return pages;
}
