// Request-scoped values behind typed keys with accessor functions.
import { createKey, withValue, type Context } from '@ctxkit/core';

export interface Principal { id: string; roles: string[] }

const principalKey = createKey<Principal>('principal');
const requestIdKey = createKey<string>('requestId', 'unknown');

export function withPrincipal(ctx: Context, p: Principal): Context {
  return withValue(ctx, principalKey, p);
}

export function principal(ctx: Context): Principal | undefined {
  return ctx.value(principalKey);
}

export function withRequestId(ctx: Context, id: string): Context {
  return withValue(ctx, requestIdKey, id);
}

export function requestId(ctx: Context): string {
  return ctx.value(requestIdKey) ?? 'unknown';
}
