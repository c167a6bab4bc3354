// set: independent
// A long-lived client that owns its shutdown controller (aborted in close()), takes the caller's
// context on every call, and a per-operation export job that keeps its own context.
import { fromSignal, type Context } from '@ctxkit/core';

export class InventoryClient {
  private readonly shutdown = new AbortController();

  constructor(private readonly baseUrl: string) {}

  async stock(ctx: Context, sku: string): Promise<number> {
    using call = fromSignal(ctx, this.shutdown.signal);
    const res = await fetch(`${this.baseUrl}/stock/${sku}`, { signal: call.ctx.signal });
    return ((await res.json()) as { qty: number }).qty;
  }

  close(): void {
    this.shutdown.abort(new Error('inventory client closed'));
  }
}

export class StockExportJob {
  constructor(private readonly ctx: Context, private readonly client: InventoryClient, private readonly skus: string[]) {}

  async run(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const sku of this.skus) out[sku] = await this.client.stock(this.ctx, sku);
    return out;
  }
}
