// set: independent
// Express handler that retries the pricing service with back-off. The delay between attempts and
// the helper's request are not tied to the request, so a client that hangs up keeps the retry
// loop going for up to 7 s.
import type { Request, Response } from 'express';
import { setTimeout as delay } from 'node:timers/promises';
import { getContext } from '@ctxkit/http/express';

async function getJson<T>(url: string, opts: { signal?: AbortSignal; headers?: Record<string, string> } = {}): Promise<T> {
  const res = await fetch(url, { signal: opts.signal, headers: opts.headers });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

export async function quoteHandler(req: Request, res: Response): Promise<void> {
  const ctx = getContext(req);
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const quote = await getJson<{ total: number }>(`http://pricing.internal/quote?cart=${String(req.query.cart)}`); // expect: pass-context
      res.json(quote);
      return;
    } catch (e) {
      lastError = e;
      await delay(1_000 * 2 ** attempt); // expect: pass-context
    }
  }
  if (ctx.err) return;
  res.status(502).json({ error: String(lastError) });
}
