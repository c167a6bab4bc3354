// A small API client: every call takes ctx, adds its per-call budget with withTimeout, passes the signal.
import { withTimeout, type Context } from '@ctxkit/core';

export class ApiClient {
  constructor(private readonly base: string, private readonly perCallMs = 3_000) {}

  async get<T>(ctx: Context, path: string): Promise<T> {
    using call = withTimeout(ctx, this.perCallMs);
    const res = await fetch(this.base + path, { signal: call.ctx.signal, headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(`GET ${path}: ${res.status}`);
    return (await res.json()) as T;
  }

  async post(ctx: Context, path: string, body: unknown): Promise<void> {
    using call = withTimeout(ctx, this.perCallMs);
    const res = await fetch(this.base + path, { method: 'POST', body: JSON.stringify(body), signal: call.ctx.signal });
    if (!res.ok) throw new Error(`POST ${path}: ${res.status}`);
  }
}
