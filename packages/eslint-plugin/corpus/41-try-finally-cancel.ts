// Explicit try/finally around a bounded call, the pre-`using` way.
import { withDeadline, type Context } from '@ctxkit/core';

export async function settle(ctx: Context, batchId: string, cutoff: Date): Promise<number> {
  const { ctx: bounded, cancel } = withDeadline(ctx, cutoff);
  try {
    const res = await fetch(`http://ledger.internal/batches/${batchId}/settle`, { method: 'POST', signal: bounded.signal });
    if (!res.ok) throw new Error(`settle failed: ${res.status}`);
    return Number(await res.text());
  } finally {
    cancel();
  }
}
