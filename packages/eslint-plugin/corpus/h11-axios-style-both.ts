// set: holdout
// A got/axios-style client call with the context's signal and a requestTimeout of its own.
import type { Context } from '@ctxkit/core';

interface Client {
  request(o: { url: string; method: string; signal?: AbortSignal; requestTimeout?: number }): Promise<{ status: number }>;
}

export async function ping(ctx: Context, client: Client, host: string): Promise<boolean> {
  const { status } = await client.request({ url: `https://${host}/ping`, method: 'GET', signal: ctx.signal, requestTimeout: 1_000 }); // expect: no-double-timeout
  return status === 200;
}
