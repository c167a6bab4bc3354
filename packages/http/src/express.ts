/**
 * @ctxkit/http/express — Express 5 middleware: every request gets a context that ends when its
 * client leaves, when its budget runs out, or once its response has been sent.
 *
 * ```ts
 * app.use(contextMiddleware({ timeoutMs: 10_000 }));   // first
 * app.get('/x', async (req, res) => { const ctx = getContext(req); … });
 * app.use(contextErrorHandler());                      // last
 * ```
 */
import type { IncomingMessage } from 'node:http';
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import { assertKnownOptions, type Context } from '@ctxkit/core';
import { InvalidHeaderError } from './errors.js';
import {
  answerContextError,
  CLIENT_GONE_STATUS,
  kContext,
  requireContext,
  resolveCanceledStatus,
  runChain,
  type ContextCarrier,
  type ContextErrorOptions,
} from './kit.js';
import { answerInvalid, bindRequest, resolveRequestOptions, writeProblem, type RequestContextOptions } from './server.js';

export type { RequestContextOptions } from './server.js';
export type { ContextErrorOptions } from './kit.js';

/**
 * Express 5 middleware (install it before the routes and body parsers): makes each request's
 * context with the semantics of `contextFromRequest`, binds it for `current()`
 * (`@ctxkit/core/node`; unless `current: false`) for the rest of the chain, and answers a
 * malformed budget header with 400 (RFC 9457 `application/problem+json`, naming the header)
 * without calling the rest of the chain, unless `invalid: 'ignore'`. Read the context with
 * `getContext(req)`; install `contextErrorHandler()` last so that failures caused by the context
 * are answered as such. Throws `TypeError` for bad options.
 */
export function contextMiddleware(options?: RequestContextOptions): RequestHandler {
  const o = resolveRequestOptions(options, 'contextMiddleware (express)');
  return (req: Request, res: Response, next: NextFunction): void => {
    const r = bindRequest(req, res, o);
    if (r instanceof InvalidHeaderError) {
      answerInvalid(res, r);
      return;
    }
    runChain(r.ctx, o.current, next);
  };
}

/**
 * Express error middleware (install it after every route, `app.use(contextErrorHandler())`):
 * answers the failures a request context explains, and passes every other error on
 * (`next(err)`) to your error handlers or Express's own:
 * - the client left (whatever the error — a rejected `ctx.err`, a body read failing with
 *   `aborted`): nothing is sent and nothing logged; `res.statusCode` is set to 499 for access
 *   logs, as nginx records it;
 * - the deadline passed (`DeadlineExceededError`, or the request context ended by its deadline):
 *   504 with an RFC 9457 `application/problem+json` body;
 * - the context was cancelled (`CanceledError`: `scope.cancel()`, `options.parent` ended, e.g.
 *   at shutdown): `canceledStatus` (default 503), same body format.
 * Once the response has started, a context error is passed on too (Express then destroys the
 * connection). To answer some of these yourself, install your own error middleware before this
 * one. Throws `TypeError` for bad options.
 */
export function contextErrorHandler(options?: ContextErrorOptions): ErrorRequestHandler {
  const fn = 'contextErrorHandler (express)';
  if (options !== undefined) {
    if (options === null || typeof options !== 'object') throw new TypeError(`${fn}: options must be an object`);
    assertKnownOptions(options, ['canceledStatus'], fn);
  }
  const canceledStatus = resolveCanceledStatus(options, fn);
  // Four parameters: Express tells error middleware by its arity.
  return (err: unknown, req: Request, res: Response, next: NextFunction): void => {
    const a = answerContextError(err, (req as ContextCarrier)[kContext], res, canceledStatus);
    if (a === undefined) {
      next(err);
      return;
    }
    if (a.reason === 'client-gone') {
      if (!res.headersSent) res.statusCode = CLIENT_GONE_STATUS;
      return;
    }
    if (res.headersSent) {
      next(err);
      return;
    }
    writeProblem(res, a.status, a.problem);
  };
}

/**
 * The context `contextMiddleware` (or an enclosing `contextHandler`) made for `req`. Throws
 * `TypeError` when none ran for this request (not installed, or installed after this route).
 */
export function getContext(req: Request | IncomingMessage): Context {
  return requireContext(req, 'getContext (express)', 'app.use(contextMiddleware()) from @ctxkit/http/express must come before this route');
}
