// set: holdout
// The same call done right: the limit lives on the context.
import { withTimeout, type Context } from '@ctxkit/core';

interface Client {
  request(o: { url: string; method: string; signal?: AbortSignal }): Promise<{ status: number }>;
}

export async function ping(ctx: Context, client: Client, host: string): Promise<boolean> {
  using call = withTimeout(ctx, 1_000);
  const { status } = await client.request({ url: `https://${host}/ping`, method: 'GET', signal: call.ctx.signal });
  return status === 200;
}
