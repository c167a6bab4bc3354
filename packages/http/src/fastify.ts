/**
 * @ctxkit/http/fastify — Fastify 5 plugin: every request gets a context that ends when its
 * client leaves, when its budget runs out, or once its response has been sent.
 *
 * ```ts
 * await app.register(contextPlugin, { timeoutMs: 10_000 }); // or contextPlugin({ … })
 * app.get('/x', async (request) => { const ctx = request.ctx; … });
 * app.get('/upload', { config: { ctxkit: { timeoutMs: 60_000 } } }, handler); // per route
 * ```
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import { assertKnownOptions, type Context } from '@ctxkit/core';
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
import { bindRequest, resolveRequestOptions, type RequestContextOptions, type ResolvedRequestOptions } from './server.js';

export type { RequestContextOptions } from './server.js';
export type { ContextErrorOptions } from './kit.js';

/**
 * A route's own options (`config: { ctxkit: { … } }`): they replace the plugin's for requests to
 * that route. `parent` and `current` are the plugin's, for every route.
 */
export type RouteContextOptions = Omit<RequestContextOptions, 'parent' | 'current'>;

/** Options of `contextPlugin`: the request options, the error answers, and Fastify's own `register` options. */
export interface ContextPluginOptions extends RequestContextOptions, ContextErrorOptions {
  /**
   * Install `contextErrorHandler` as the instance's error handler. Default `true`. Set `false`
   * when you set your own error handler; call a `contextErrorHandler(options)` from it to keep
   * the context answers.
   */
  errorHandler?: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The request's context (set by `contextPlugin` in its `onRequest` hook; the same as
     * `getContext(request)`). Ends when the client leaves, when the budget runs out, or once the
     * response has been sent.
     */
    ctx: Context;
  }
  interface FastifyContextConfig {
    /** `@ctxkit/http/fastify`: this route's own context options (replacing the plugin's). */
    ctxkit?: RouteContextOptions;
  }
}

type Plugin = FastifyPluginCallback<ContextPluginOptions>;

/** A Fastify error handler: `app.setErrorHandler(handler)`. */
export type ContextErrorHandler = (error: unknown, request: FastifyRequest, reply: FastifyReply) => FastifyReply | undefined;

function isFastify(x: unknown): x is FastifyInstance {
  return (
    x !== null &&
    typeof x === 'object' &&
    typeof (x as { addHook?: unknown }).addHook === 'function' &&
    typeof (x as { register?: unknown }).register === 'function'
  );
}

const PLUGIN = 'contextPlugin (fastify)';
/** Options Fastify's `register` itself takes, passed along to the plugin. */
const FASTIFY_REGISTER_KEYS: readonly string[] = ['prefix', 'logLevel', 'logSerializers'];
const PLUGIN_KEYS: readonly string[] = [...FASTIFY_REGISTER_KEYS, 'canceledStatus', 'errorHandler'];
const ROUTE_KEYS: readonly string[] = ['timeoutMs', 'maxTimeoutMs', 'invalid', 'inbound', 'baggage'];

function validatePlugin(options: ContextPluginOptions | undefined): ResolvedRequestOptions {
  const o = resolveRequestOptions(options, PLUGIN, PLUGIN_KEYS);
  resolveCanceledStatus(options, PLUGIN);
  const eh = options?.errorHandler;
  if (eh !== undefined && typeof eh !== 'boolean') throw new TypeError(`${PLUGIN}: options.errorHandler must be a boolean`);
  return o;
}

/** The plugin's options without Fastify's and the error options: what a route's own options are merged over. */
function requestOptionsOf(options: ContextPluginOptions | undefined): RequestContextOptions {
  if (options === undefined) return {};
  const { timeoutMs, maxTimeoutMs, invalid, inbound, baggage, parent, current } = options;
  return { timeoutMs, maxTimeoutMs, invalid, inbound, baggage, parent, current };
}

function install(fastify: FastifyInstance, options: ContextPluginOptions | undefined): void {
  const o = validatePlugin(options);
  const base = requestOptionsOf(options);
  // Routes with their own options, resolved once when the route is added (bad ones throw at
  // startup), keyed by the route's `config.ctxkit` object, which Fastify keeps by reference.
  const routes = new WeakMap<object, ResolvedRequestOptions>();
  let routeCount = 0;
  fastify.addHook('onRoute', (route) => {
    const own = (route.config as { ctxkit?: unknown } | undefined)?.ctxkit;
    if (own === undefined) return;
    const fn = `${PLUGIN}: route ${String(route.method)} ${route.url} config.ctxkit`;
    if (own === null || typeof own !== 'object') throw new TypeError(`${fn} must be an object`);
    assertKnownOptions(own, ROUTE_KEYS, fn);
    routes.set(own, resolveRequestOptions({ ...base, ...(own as RouteContextOptions) }, fn));
    routeCount++;
  });
  if (!fastify.hasRequestDecorator('ctx')) fastify.decorateRequest('ctx', null as unknown as Context);
  fastify.addHook('onRequest', (request, reply, done) => {
    let ro = o;
    if (routeCount > 0) {
      const own = request.routeOptions.config?.ctxkit;
      if (own !== undefined) ro = routes.get(own) ?? o;
    }
    const r = bindRequest(request.raw, reply.raw, ro);
    if (r instanceof InvalidHeaderError) {
      const p = invalidHeaderProblem(r);
      void reply.code(p.status).type(p.contentType).send(Buffer.from(p.body)); // a Buffer: Fastify adds no charset
      return;
    }
    request.ctx = r.ctx;
    runChain(r.ctx, o.current, done);
  });
  if (options?.errorHandler !== false)
    fastify.setErrorHandler(
      contextErrorHandler(options?.canceledStatus === undefined ? undefined : { canceledStatus: options.canceledStatus }),
    );
  if (!o.current) return;
  // A request body is parsed from socket events, outside the onRequest call chain: bind again
  // just before the handler so current() holds in every handler.
  fastify.addHook('preHandler', (request, _reply, done) => {
    const ctx = (request.raw as ContextCarrier)[kContext];
    if (ctx === undefined) done();
    else runChain(ctx, true, done);
  });
}

function markPlugin(p: Plugin): Plugin {
  // What fastify-plugin does: hooks apply to the whole instance, not an encapsulated child.
  (p as unknown as Record<symbol, unknown>)[Symbol.for('skip-override')] = true;
  (p as unknown as Record<symbol, unknown>)[Symbol.for('fastify.display-name')] = '@ctxkit/http';
  return p;
}

/**
 * The Fastify 5 plugin, usable both ways: `app.register(contextPlugin, options)` or
 * `app.register(contextPlugin(options))`. It applies to the whole instance (not encapsulated):
 * - each request's context has the semantics of `contextFromRequest`; read it as `request.ctx`
 *   or `getContext(request)`; it is bound for `current()` in hooks and handlers (unless
 *   `current: false`); Fastify's own `request.signal` is not used;
 * - a route's `config: { ctxkit: { timeoutMs, maxTimeoutMs, invalid, inbound, baggage } }`
 *   replaces the plugin's options for that route (validated when the route is added);
 * - a malformed budget header is answered 400 with an RFC 9457 `application/problem+json` body
 *   naming the header, unless `invalid: 'ignore'`;
 * - failures the context explains are answered by `contextErrorHandler` (installed as the
 *   instance's error handler unless `errorHandler: false`): 504 for a deadline, nothing for a
 *   client that left, `canceledStatus` (503) for a cancelled context.
 * Throws `TypeError` for bad options (a route's: when the route is added).
 */
export function contextPlugin(options?: ContextPluginOptions): Plugin;
export function contextPlugin(fastify: FastifyInstance, options: ContextPluginOptions, done: (err?: Error) => void): void;
export function contextPlugin(a?: unknown, b?: unknown, c?: unknown): Plugin | void {
  if (isFastify(a)) {
    install(a, b as ContextPluginOptions | undefined);
    (c as (err?: Error) => void)();
    return;
  }
  const options = a as ContextPluginOptions | undefined;
  validatePlugin(options);
  return markPlugin((fastify, _opts, done) => {
    install(fastify, options);
    done();
  });
}
markPlugin(contextPlugin as unknown as Plugin);

/**
 * @deprecated Renamed `contextPlugin` (it is a Fastify plugin, not a middleware); this alias
 * is the same function and stays for existing code.
 */
export const contextMiddleware: typeof contextPlugin = contextPlugin;

export default contextPlugin;

/**
 * A Fastify error handler that answers the failures a request context explains, in Fastify's
 * JSON error format (`{ statusCode, code, error, message }`):
 * - the client left (whatever the error): nothing is sent and nothing logged; the reply is
 *   recorded with status 499, as nginx does;
 * - the deadline passed (`DeadlineExceededError`, or the context ended by its deadline): 504,
 *   code `CTXKIT_DEADLINE_EXCEEDED`;
 * - the context was cancelled (`CanceledError`, e.g. `options.parent` ended at shutdown):
 *   `canceledStatus` (default 503), code `CTXKIT_CANCELED`.
 * Any other error (and a context error once the response has started) is thrown on to the next
 * error handler — Fastify's default, which logs and answers it as usual. `contextPlugin`
 * installs it; call it from your own error handler when you set one (`errorHandler: false`).
 * Throws `TypeError` for bad options.
 */
export function contextErrorHandler(options?: ContextErrorOptions): ContextErrorHandler {
  const fn = 'contextErrorHandler (fastify)';
  if (options !== undefined) {
    if (options === null || typeof options !== 'object') throw new TypeError(`${fn}: options must be an object`);
    assertKnownOptions(options, ['canceledStatus'], fn);
  }
  const canceledStatus = resolveCanceledStatus(options, fn);
  return (error, request, reply) => {
    const a = answerContextError(error, (request.raw as ContextCarrier)[kContext], reply.raw, canceledStatus);
    if (a === undefined) throw error;
    if (a.reason === 'client-gone') return reply.code(CLIENT_GONE_STATUS).send();
    if (reply.sent || reply.raw.headersSent) throw error;
    const p = a.problem;
    return reply
      .code(a.status)
      .type('application/json; charset=utf-8')
      .send(
        JSON.stringify({
          statusCode: a.status,
          code: a.reason === 'deadline' ? 'CTXKIT_DEADLINE_EXCEEDED' : 'CTXKIT_CANCELED',
          error: p.title,
          message: p.detail,
        }),
      );
  };
}

/**
 * The context the plugin made for this request (the same as `request.ctx`); accepts Fastify's
 * request or the raw `IncomingMessage`. Throws `TypeError` when the plugin did not run for this
 * request.
 */
export function getContext(request: FastifyRequest | IncomingMessage): Context {
  const raw = (request as { raw?: IncomingMessage } | null | undefined)?.raw ?? request;
  return requireContext(raw, 'getContext (fastify)', 'register contextPlugin from @ctxkit/http/fastify (before the routes)');
}
