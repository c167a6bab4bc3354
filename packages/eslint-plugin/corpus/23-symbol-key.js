// Tenant resolution keyed by a module-local Symbol instead of a createKey key.
import { withValue } from '@ctxkit/core';

const TENANT = Symbol('tenant');

export function withTenant(ctx, req) {
  const host = String(req.headers.host ?? '');
  const tenant = host.split('.')[0] || 'default';
  return withValue(ctx, TENANT, tenant); // expect: typed-context-keys
}

export function tenantOf(ctx) {
  return ctx.value(TENANT); // expect: typed-context-keys
}
