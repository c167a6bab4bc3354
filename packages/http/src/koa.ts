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
import { InvalidHeaderError } from './errors.js';
import {
  answerContextError,
  CLIENT_GONE_STATUS,
  invalidHeaderProblem,
  kContext,
  requireContext,
  resolveCanceledStatus,
  runChain,
  type ContextCarrier,
  type ContextErrorOptions,
} from './kit.js';
import { bindRequest, resolveRequestOptions, writeProblem, type RequestContextOptions } from './server.js';

export type { RequestContextOptions } from './server.js';
export type { ContextErrorOptions } from './kit.js';

/** Options of the Koa middleware: the request options and the error answers. */
export interface KoaContextOptions extends RequestContextOptions, ContextErrorOptions {}

const FN = 'contextMiddleware (koa)';

/**
 * Koa 3 middleware (install it first): makes each request's context with the semantics of
 * `contextFromRequest`, binds it for `current()` (unless `current: false`) for every downstream
 * middleware, and answers a malformed budget header with 400 (RFC 9457
 * `application/problem+json`, naming the header) unless `invalid: 'ignore'`. Koa writes the
 * response after the middleware chain settles; the context ends once it is sent. Read it with
 * `getContext(kctx)`.
 *
 * It also answers, in Koa's own error path (`ctx.onerror`, which receives both a rejected
 * middleware chain and a connection error), the failures the context explains:
 * - the client left (whatever the error — `ctx.err`, a body read failing with `aborted`, the
 *   parse error of a truncated upload): nothing is sent, nothing emitted on `app.on('error')`
 *   (so nothing logged); `res.statusCode` is set to 499, as nginx records it;
 * - the deadline passed: 504 with an RFC 9457 `application/problem+json` body;
 * - the context was cancelled (e.g. `options.parent` ended at shutdown): `canceledStatus`
 *   (default 503), same body format.
 * Every other error goes to Koa's own `ctx.onerror` as usual. An error middleware of yours
 * installed before this one sees every error first, and decides. Throws `TypeError` for bad
 * options.
 */
export function contextMiddleware(options?: KoaContextOptions): Middleware {
  const o = resolveRequestOptions(options, FN, ['canceledStatus']);
  const canceledStatus = resolveCanceledStatus(options, FN);
  // One function for every request (no closure per request), set as the request's own onerror.
  function onerror(this: KoaContext, err: unknown): void {
    if (err == null) return;
    const res = this.res;
    const a = answerContextError(err, (this.req as ContextCarrier)[kContext], res, canceledStatus);
    const koaOnerror = (Object.getPrototypeOf(this) as { onerror(e: unknown): void }).onerror;
    if (a === undefined) {
      koaOnerror.call(this, err);
      return;
    }
    if (a.reason === 'client-gone') {
      if (!res.headersSent) res.statusCode = CLIENT_GONE_STATUS;
      return;
    }
    if (res.headersSent || !this.writable) {
      koaOnerror.call(this, err);
      return;
    }
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    writeProblem(res, a.status, a.problem);
  }
  return (kctx, next) => {
    const r = bindRequest(kctx.req, kctx.res, o);
    if (r instanceof InvalidHeaderError) {
      const p = invalidHeaderProblem(r);
      kctx.status = p.status;
      kctx.set('content-type', p.contentType);
      kctx.body = p.body;
      return Promise.resolve();
    }
    kctx.onerror = onerror;
    return runChain(r.ctx, o.current, next);
  };
}

/**
 * The context `contextMiddleware` made for this request; accepts Koa's context or the raw
 * `IncomingMessage`. Throws `TypeError` when the middleware did not run for this request.
 */
export function getContext(kctx: KoaContext | IncomingMessage): Context {
  const req = (kctx as { req?: IncomingMessage } | null | undefined)?.req ?? kctx;
  return requireContext(req, 'getContext (koa)', 'app.use(contextMiddleware()) from @ctxkit/http/koa must come first');
}
