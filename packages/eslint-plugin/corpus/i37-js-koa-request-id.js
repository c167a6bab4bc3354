// set: independent
// Koa middleware in JavaScript: request id under a createKey key, context handed on with runWith.
import { randomUUID } from 'node:crypto';
import { createKey, withValue } from '@ctxkit/core';
import { runWith } from '@ctxkit/core/node';
import { getContext } from '@ctxkit/http/koa';

export const requestIdKey = createKey('requestId');

export function requestId() {
  return async (kctx, next) => {
    const id = kctx.get('x-request-id') || randomUUID();
    kctx.set('x-request-id', id);
    await runWith(withValue(getContext(kctx), requestIdKey, id), next);
  };
}

export const requestIdOf = (ctx) => ctx.value(requestIdKey);
