/**
 * @ctxkit/http/express — Express 5 middleware: every request gets a context that ends when its
 * client leaves, when its budget runs out, or once its response has been sent.
 *
 * ```ts
 * app.use(contextMiddleware({ timeoutMs: 10_000 }));
 * app.get('/x', async (req, res) => { const ctx = getContext(req); … });
 * ```
 */
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Context } from '@ctxkit/core';
import { runWith } from '@ctxkit/core/node';
import { InvalidHeaderError } from './errors.js';
import { bindRequest, kContext, resolveRequestOptions, type RequestContextOptions } from './server.js';

export type { RequestContextOptions } from './server.js';

/**
 * Express 5 middleware (install it before the routes): makes each request's context with the
 * semantics of `contextFromRequest`, binds it for `current()` (`@ctxkit/core/node`; unless `current: false`) for the rest
 * of the chain, and answers 400 (text, naming the header) for a malformed budget header unless
 * `invalid: 'ignore'`. Read it with `getContext(req)`. Throws `TypeError` for bad options.
 */
export function contextMiddleware(options?: RequestContextOptions): RequestHandler {
  const o = resolveRequestOptions(options, 'contextMiddleware (express)');
  return (req: Request, res: Response, next: NextFunction): void => {
    const r = bindRequest(req, res, o);
    if (r instanceof InvalidHeaderError) {
      res.status(r.status).type('text/plain').send(`${r.message}\n`);
      return;
    }
    if (o.current) runWith(r.ctx, next);
    else next();
  };
}

/**
 * The context `contextMiddleware` made for `req`. Throws `TypeError` when the middleware did not
 * run for this request (not installed, or installed after this route).
 */
export function getContext(req: Request | IncomingMessage): Context {
  const ctx = (req as { [kContext]?: Context } | null | undefined)?.[kContext];
  if (ctx === undefined) {
    throw new TypeError(
      'getContext: no context on this request — app.use(contextMiddleware()) from @ctxkit/http/express must come before this route',
    );
  }
  return ctx;
}
