// set: independent
// Koa middleware in plain JavaScript: tenant and locale stored under string keys, read back by a
// repository helper with the same strings.
import { withValue } from '@ctxkit/core';
import { runWith } from '@ctxkit/core/node';
import { getContext } from '@ctxkit/http/koa';

export function tenantMiddleware() {
  return async (kctx, next) => {
    const tenant = kctx.get('x-tenant-id') || 'public';
    const ctx = withValue(getContext(kctx), 'tenant', tenant); // expect: typed-context-keys
    await runWith(ctx, next);
  };
}

export function tenantSchema(ctx) {
  return `tenant_${ctx.value('tenant')}`; // expect: typed-context-keys
}
