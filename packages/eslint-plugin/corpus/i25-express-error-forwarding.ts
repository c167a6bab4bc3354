// set: independent
// Express 5 handler that forwards errors to the error middleware, but answers nothing when the
// failure is the request's own cancellation (the client is gone).
import type { NextFunction, Request, Response } from 'express';
import { isContextError, type Context } from '@ctxkit/core';
import { getContext } from '@ctxkit/http/express';

async function loadInvoice(ctx: Context, id: string): Promise<unknown> {
  const res = await fetch(`http://billing.internal/invoices/${encodeURIComponent(id)}`, { signal: ctx.signal });
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`billing: HTTP ${res.status}`);
  return res.json();
}

export async function getInvoice(req: Request, res: Response, next: NextFunction): Promise<void> {
  const ctx = getContext(req);
  try {
    const invoice = await loadInvoice(ctx, String(req.params.id));
    if (invoice === undefined) {
      res.sendStatus(404);
      return;
    }
    res.json(invoice);
  } catch (e) {
    if (isContextError(e)) return;
    next(e);
  }
}
