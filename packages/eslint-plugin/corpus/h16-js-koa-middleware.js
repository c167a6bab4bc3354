// set: holdout
// Koa middleware (JavaScript) that bounds each request and always releases the bound.
import { withTimeout } from '@ctxkit/core';

export function deadline(ms) {
  return async (koaCtx, next) => {
    const scope = withTimeout(koaCtx.state.ctx, ms);
    koaCtx.state.ctx = scope.ctx;
    try {
      await next();
    } finally {
      scope.cancel();
    }
  };
}
