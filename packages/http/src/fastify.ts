/**
 * @ctxkit/http/fastify — Fastify 5 plugin: every request gets a context that ends when its
 * client leaves, when its budget runs out, or once its response has been sent.
 *
 * ```ts
 * await app.register(contextMiddleware, { timeoutMs: 10_000 }); // or contextMiddleware({ … })
 * app.get('/x', async (request) => { const ctx = getContext(request); … });
 * ```
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyPluginCallback, FastifyRequest } from 'fastify';
import type { Context } from '@ctxkit/core';
import { runWith } from '@ctxkit/core/node';
import { InvalidHeaderError } from './errors.js';
import { bindRequest, kContext, resolveRequestOptions, type RequestContextOptions } from './server.js';

export type { RequestContextOptions } from './server.js';

type Plugin = FastifyPluginCallback<RequestContextOptions>;

function isFastify(x: unknown): x is FastifyInstance {
  return (
    x !== null &&
    typeof x === 'object' &&
    typeof (x as { addHook?: unknown }).addHook === 'function' &&
    typeof (x as { register?: unknown }).register === 'function'
  );
}

/** Options Fastify's `register` itself takes, passed along to the plugin. */
const FASTIFY_REGISTER_KEYS: readonly string[] = ['prefix', 'logLevel', 'logSerializers'];

function contextOf(req: IncomingMessage): Context | undefined {
  return (req as { [kContext]?: Context })[kContext];
}

function install(fastify: FastifyInstance, options: RequestContextOptions | undefined): void {
  const o = resolveRequestOptions(options, 'contextMiddleware (fastify)', FASTIFY_REGISTER_KEYS);
  fastify.addHook('onRequest', (request, reply, done) => {
    const r = bindRequest(request.raw, reply.raw, o);
    if (r instanceof InvalidHeaderError) {
      void reply.code(r.status).type('text/plain; charset=utf-8').send(`${r.message}\n`);
      return;
    }
    if (o.current) runWith(r.ctx, done);
    else done();
  });
  if (!o.current) return;
  // A request body is parsed from socket events, outside the onRequest call chain: bind again
  // just before the handler so current() holds in every handler.
  fastify.addHook('preHandler', (request, _reply, done) => {
    const ctx = contextOf(request.raw);
    if (ctx === undefined) done();
    else runWith(ctx, done);
  });
}

function markPlugin(p: Plugin): Plugin {
  // What fastify-plugin does: hooks apply to the whole instance, not an encapsulated child.
  (p as unknown as Record<symbol, unknown>)[Symbol.for('skip-override')] = true;
  (p as unknown as Record<symbol, unknown>)[Symbol.for('fastify.display-name')] = '@ctxkit/http';
  return p;
}

/**
 * The Fastify 5 plugin, usable both ways: `app.register(contextMiddleware, options)` or
 * `app.register(contextMiddleware(options))`. It applies to the whole instance (not
 * encapsulated): each request's context has the semantics of `contextFromRequest`, is bound for
 * `current()` in hooks and handlers (unless `current: false`), and a malformed budget header is answered 400 (text, naming
 * the header) unless `invalid: 'ignore'`. Read it with `getContext(request)`. Fastify's own
 * `request.signal` is not used. Throws `TypeError` for bad options.
 */
export function contextMiddleware(options?: RequestContextOptions): Plugin;
export function contextMiddleware(fastify: FastifyInstance, options: RequestContextOptions, done: (err?: Error) => void): void;
export function contextMiddleware(a?: unknown, b?: unknown, c?: unknown): Plugin | void {
  if (isFastify(a)) {
    install(a, b as RequestContextOptions | undefined);
    (c as (err?: Error) => void)();
    return;
  }
  const options = a as RequestContextOptions | undefined;
  resolveRequestOptions(options, 'contextMiddleware (fastify)', FASTIFY_REGISTER_KEYS);
  return markPlugin((fastify, _opts, done) => {
    install(fastify, options);
    done();
  });
}
markPlugin(contextMiddleware as unknown as Plugin);

export default contextMiddleware;

/**
 * The context the plugin made for this request; accepts Fastify's request or the raw
 * `IncomingMessage`. Throws `TypeError` when the plugin did not run for this request.
 */
export function getContext(request: FastifyRequest | IncomingMessage): Context {
  const raw = (request as { raw?: IncomingMessage } | null | undefined)?.raw ?? (request as IncomingMessage);
  const ctx = raw == null ? undefined : contextOf(raw);
  if (ctx === undefined) {
    throw new TypeError(
      'getContext: no context on this request — register contextMiddleware from @ctxkit/http/fastify (before the routes)',
    );
  }
  return ctx;
}
