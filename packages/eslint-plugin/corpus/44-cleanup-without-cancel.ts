// Releases a lock on a detached context with its own short timeout; cleanup failures are only logged.
import { withTimeout, withoutCancel, type Context } from '@ctxkit/core';

async function release(ctx: Context, lock: string): Promise<void> {
  await fetch(`http://locks.internal/${lock}`, { method: 'DELETE', signal: ctx.signal });
}

export async function withLock<T>(ctx: Context, lock: string, fn: (ctx: Context) => Promise<T>): Promise<T> {
  const res = await fetch(`http://locks.internal/${lock}`, { method: 'PUT', signal: ctx.signal });
  if (!res.ok) throw new Error(`lock ${lock} is held`);
  try {
    return await fn(ctx);
  } finally {
    const cleanup = withTimeout(withoutCancel(ctx), 2_000);
    try {
      await release(cleanup.ctx, lock);
    } catch (e) {
      console.error('lock release failed; it will expire', lock, e);
    } finally {
      cleanup.cancel();
    }
  }
}
