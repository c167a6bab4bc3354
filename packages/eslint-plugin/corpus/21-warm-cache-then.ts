// Warms a cache with a promise chain nobody waits for.
import type { Context } from '@ctxkit/core';

const warmed = new Set<string>();

export function onLogin(ctx: Context, userId: string): void {
  fetch(`http://profiles.internal/${userId}`, { signal: ctx.signal }) // expect: no-floating-work
    .then((r) => r.json())
    .then(() => warmed.add(userId));
}
