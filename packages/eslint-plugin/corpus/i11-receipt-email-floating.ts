// set: independent
// Express checkout: the receipt e-mail is sent after responding, on the request's context — it
// is cut off when the response finishes, and a failure is an unhandled rejection.
import type { Request, Response } from 'express';
import type { Context } from '@ctxkit/core';
import { getContext } from '@ctxkit/http/express';

interface Order { id: string; email: string; totalCents: number }

async function placeOrder(ctx: Context, body: unknown): Promise<Order> {
  const res = await fetch('http://orders.internal/orders', { method: 'POST', body: JSON.stringify(body), signal: ctx.signal });
  return (await res.json()) as Order;
}

async function sendReceipt(ctx: Context, order: Order): Promise<void> {
  await fetch('http://mailer.internal/send', {
    method: 'POST',
    body: JSON.stringify({ to: order.email, template: 'receipt', vars: order }),
    signal: ctx.signal,
  });
}

export async function checkout(req: Request, res: Response): Promise<void> {
  const ctx = getContext(req);
  const order = await placeOrder(ctx, req.body);
  res.status(201).json(order);
  sendReceipt(ctx, order); // expect: no-floating-work
}
