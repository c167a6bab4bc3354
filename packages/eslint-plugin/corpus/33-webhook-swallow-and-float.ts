// Webhook fan-out: deliveries are started and forgotten, and their errors are swallowed.
import type { Context } from '@ctxkit/core';

async function deliver(ctx: Context, url: string, payload: unknown): Promise<void> {
  const res = await fetch(url, { method: 'POST', body: JSON.stringify(payload), signal: ctx.signal });
  if (!res.ok) throw new Error(`webhook ${url} answered ${res.status}`);
}

export function fanOut(ctx: Context, urls: string[], payload: unknown): void {
  for (const url of urls) {
    deliver(ctx, url, payload).catch((e) => console.warn('webhook failed', url, e)); // expect: no-floating-work, no-swallowed-cancel
  }
}
