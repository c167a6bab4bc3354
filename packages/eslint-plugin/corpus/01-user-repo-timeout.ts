// Repository call with a per-query timeout; the scope is cancelled only on the happy path.
import { withTimeout, type Context } from '@ctxkit/core';

interface User { id: string; name: string }

export async function findUser(ctx: Context, baseUrl: string, id: string): Promise<User | undefined> {
  const scope = withTimeout(ctx, 2_000); // expect: lost-cancel
  const res = await fetch(`${baseUrl}/users/${encodeURIComponent(id)}`, { signal: scope.ctx.signal });
  if (res.status === 404) return undefined;
  const user = (await res.json()) as User;
  scope.cancel();
  return user;
}
