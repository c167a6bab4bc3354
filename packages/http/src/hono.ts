/**
 * @ctxkit/http/hono — Hono middleware for apps served by `@hono/node-server`: every request
 * gets a context that ends when its client leaves, when its budget runs out, or once its
 * response has been sent.
 *
 * ```ts
 * const app = new Hono<{ Bindings: HttpBindings }>();
 * app.use(contextMiddleware({ timeoutMs: 10_000 }));
 * app.get('/x', async (c) => { const ctx = getContext(c); … });
 * serve({ fetch: app.fetch, port: 3000 });
 * ```
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context as HonoContext, MiddlewareHandler } from 'hono';
import type { Context } from '@ctxkit/core';
import { runWith } from '@ctxkit/core/node';
import { InvalidHeaderError } from './errors.js';
import { bindRequest, kContext, resolveRequestOptions, type RequestContextOptions } from './server.js';

export type { RequestContextOptions } from './server.js';

interface NodeEnv {
  incoming?: IncomingMessage;
  outgoing?: ServerResponse;
}

const NEEDS_NODE_SERVER = '@ctxkit/http/hono: c.env.incoming/outgoing are missing — serve the app with @hono/node-server (HTTP/1.1)';

/**
 * Hono middleware (install it first, `app.use(contextMiddleware())`): makes each request's
 * context from the node:http request and response that `@hono/node-server` passes in `c.env`,
 * with the semantics of `contextFromRequest`, binds it for `current()` (unless `current: false`) for the rest of the chain,
 * and answers 400 (text, naming the header) for a malformed budget header unless
 * `invalid: 'ignore'`. Read it with `getContext(c)`. On another runtime (no `c.env.incoming`)
 * it throws a `TypeError` saying so. Throws `TypeError` for bad options.
 */
export function contextMiddleware(options?: RequestContextOptions): MiddlewareHandler {
  const o = resolveRequestOptions(options, 'contextMiddleware (hono)');
  return (c, next) => {
    const env = c.env as NodeEnv | undefined;
    const incoming = env?.incoming;
    const outgoing = env?.outgoing;
    if (incoming === undefined || outgoing === undefined || typeof (outgoing as { on?: unknown }).on !== 'function') {
      return Promise.reject(new TypeError(NEEDS_NODE_SERVER));
    }
    const r = bindRequest(incoming, outgoing, o);
    if (r instanceof InvalidHeaderError) return Promise.resolve(c.text(`${r.message}\n`, 400));
    return o.current ? runWith(r.ctx, next) : next();
  };
}

/**
 * The context `contextMiddleware` made for this request; accepts Hono's context or the raw
 * `IncomingMessage`. Throws `TypeError` when the middleware did not run for this request.
 */
export function getContext(c: HonoContext | IncomingMessage): Context {
  const incoming = (c as { env?: NodeEnv } | null | undefined)?.env?.incoming ?? (c as IncomingMessage);
  const ctx = (incoming as { [kContext]?: Context } | null | undefined)?.[kContext];
  if (ctx === undefined) {
    throw new TypeError(
      'getContext: no context on this request — app.use(contextMiddleware()) from @ctxkit/http/hono must come first (and the app served by @hono/node-server)',
    );
  }
  return ctx;
}

/**
 * The same binding as `contextMiddleware`, applied around the app's `fetch` instead of as a Hono
 * middleware: `serve({ fetch: withRequestContext(app.fetch, options) })`. Hono runs an app that
 * has any middleware through its compose machinery, which costs more per request than this
 * wrapper; use it when throughput matters. `getContext(c)` works the same. A malformed budget
 * header is answered 400 before the app runs. Requires `@hono/node-server` (`env.incoming`);
 * otherwise the returned function rejects with a `TypeError` saying so.
 */
export function withRequestContext<E, R>(
  fetch: (request: Request, env: E, ...rest: never[]) => R | Promise<R>,
  options?: RequestContextOptions,
): (request: Request, env: E, ...rest: never[]) => R | Response | Promise<R | Response> {
  if (typeof fetch !== 'function') throw new TypeError("withRequestContext: fetch must be the app's fetch function (app.fetch)");
  const o = resolveRequestOptions(options, 'withRequestContext (hono)');
  return (request, env, ...rest) => {
    const e = env as NodeEnv | undefined;
    const incoming = e?.incoming;
    const outgoing = e?.outgoing;
    if (incoming === undefined || outgoing === undefined || typeof (outgoing as { on?: unknown }).on !== 'function') {
      return Promise.reject(new TypeError(NEEDS_NODE_SERVER));
    }
    const r = bindRequest(incoming, outgoing, o);
    if (r instanceof InvalidHeaderError) {
      return new Response(`${r.message}\n`, { status: r.status, headers: { 'content-type': 'text/plain; charset=UTF-8' } });
    }
    return o.current ? runWith(r.ctx, () => fetch(request, env, ...rest)) : fetch(request, env, ...rest);
  };
}
