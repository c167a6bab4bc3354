// Test helpers: background() at the top of a test is where a tree starts.
import { background, withTimeout, type Context } from '@ctxkit/core';

export async function withTestContext<T>(fn: (ctx: Context) => Promise<T>, ms = 5_000): Promise<T> {
  using scope = withTimeout(background(), ms);
  return await fn(scope.ctx);
}

export const fixtures = { user: { id: 'u1', email: 'a@example.com' } };
