// set: holdout
// Inventory RPC with a per-call deadline derived from the caller; cancelled in finally.
import { withDeadline, remaining, type Context } from '@ctxkit/core';

export async function reserve(ctx: Context, sku: string, qty: number): Promise<boolean> {
  const budget = Math.min(remaining(ctx), 2_000);
  const { ctx: call, cancel } = withDeadline(ctx, Date.now() + budget);
  try {
    const res = await fetch('http://inventory.internal/rpc/Reserve', {
      method: 'POST',
      headers: { 'grpc-timeout': `${budget}m` },
      body: JSON.stringify({ sku, qty }),
      signal: call.signal,
    });
    return res.ok;
  } finally {
    cancel();
  }
}
