/**
 * @ctxkit/http/koa — Koa 3 middleware: every request gets a context that ends when its client
 * leaves, when its budget runs out, or once its response has been sent.
 *
 * ```ts
 * app.use(contextMiddleware({ timeoutMs: 10_000 }));
 * app.use(async (kctx) => { const ctx = getContext(kctx); … });
 * ```
 */
import type { IncomingMessage } from 'node:http';
import type { Context as KoaContext, Middleware } from 'koa';
import type { Context } from '@ctxkit/core';
import { runWith } from '@ctxkit/core/node';
import { InvalidHeaderError } from './errors.js';
import { bindRequest, kContext, resolveRequestOptions, type RequestContextOptions } from './server.js';

export type { RequestContextOptions } from './server.js';

/**
 * Koa 3 middleware (install it first): makes each request's context with the semantics of
 * `contextFromRequest`, binds it for `current()` (unless `current: false`) for every downstream middleware, and answers
 * 400 (text, naming the header) for a malformed budget header unless `invalid: 'ignore'`. Koa
 * writes the response after the middleware chain settles; the context ends once it is sent.
 * Read it with `getContext(kctx)`. Throws `TypeError` for bad options.
 */
export function contextMiddleware(options?: RequestContextOptions): Middleware {
  const o = resolveRequestOptions(options, 'contextMiddleware (koa)');
  return (kctx, next) => {
    const r = bindRequest(kctx.req, kctx.res, o);
    if (r instanceof InvalidHeaderError) {
      kctx.status = r.status;
      kctx.type = 'text/plain';
      kctx.body = `${r.message}\n`;
      return Promise.resolve();
    }
    return o.current ? runWith(r.ctx, next) : next();
  };
}

/**
 * The context `contextMiddleware` made for this request; accepts Koa's context or the raw
 * `IncomingMessage`. Throws `TypeError` when the middleware did not run for this request.
 */
export function getContext(kctx: KoaContext | IncomingMessage): Context {
  const req = (kctx as { req?: IncomingMessage } | null | undefined)?.req ?? kctx;
  const ctx = (req as { [kContext]?: Context } | null | undefined)?.[kContext];
  if (ctx === undefined) {
    throw new TypeError('getContext: no context on this request — app.use(contextMiddleware()) from @ctxkit/http/koa must come first');
  }
  return ctx;
}
