// Waits for a worker's "ready" event; a cancelled caller waits forever.
import { once, type EventEmitter } from 'node:events';
import type { Context } from '@ctxkit/core';

export async function waitForWorker(ctx: Context, worker: EventEmitter): Promise<string> {
  if (ctx.err) throw ctx.err;
  const [info] = (await once(worker, 'ready')) as [string]; // expect: pass-context
  return info;
}
