// Waits for a child process to report readiness, giving up when the caller cancels.
import { once } from 'node:events';
import { fork } from 'node:child_process';
import type { Context } from '@ctxkit/core';

export async function startWorker(ctx: Context, script: string): Promise<number> {
  const child = fork(script, [], { signal: ctx.signal, stdio: 'inherit' });
  const [msg] = (await once(child, 'message', { signal: ctx.signal })) as [{ port: number }];
  return msg.port;
}
