/**
 * @ctxkit/http/hono — Hono middleware: every request gets a context that ends when its client
 * leaves, when its budget runs out, or once its response has been sent — on `@hono/node-server`
 * (from the node:http request and response) and on every fetch runtime (Bun, Deno, Workers,
 * `app.request()`, `app.fetch(new Request(…))`: from the `Request` and its `signal`).
 *
 * ```ts
 * const app = new Hono();
 * app.use(contextMiddleware({ timeoutMs: 10_000 }));
 * app.onError(contextErrorHandler());
 * app.get('/x', async (c) => { const ctx = getContext(c); … });
 * serve({ fetch: app.fetch, port: 3000 });
 * ```
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context as HonoContext, ErrorHandler, MiddlewareHandler } from 'hono';
import { afterFunc, assertKnownOptions, withCancel, withTimeout, type CancelScope, type Context } from '@ctxkit/core';
import { extractResolved } from './codec.js';
import { ClientDisconnectedError, InvalidHeaderError, ResponseFinishedError } from './errors.js';
import {
  answerContextError,
  CLIENT_GONE_STATUS,
  invalidHeaderProblem,
  kContext,
  PROBLEM_JSON,
  requireContext,
  resolveCanceledStatus,
  runChain,
  type ContextCarrier,
  type ContextErrorOptions,
} from './kit.js';
import { bindRequest, resolveRequestOptions, type RequestContextOptions, type ResolvedRequestOptions } from './server.js';

export type { RequestContextOptions } from './server.js';
export type { ContextErrorOptions } from './kit.js';

interface NodeEnv {
  incoming?: IncomingMessage;
  outgoing?: ServerResponse;
}

/** The node:http request and response `@hono/node-server` passes in `env`, when both are there. */
function nodePair(env: unknown): { incoming: IncomingMessage; outgoing: ServerResponse } | undefined {
  if (env === null || typeof env !== 'object') return undefined;
  const { incoming, outgoing } = env as NodeEnv;
  if (incoming == null || outgoing == null || typeof (outgoing as { on?: unknown }).on !== 'function') return undefined;
  return { incoming, outgoing };
}

function problemResponse(e: InvalidHeaderError): Response {
  const p = invalidHeaderProblem(e);
  return new Response(p.body, { status: p.status, headers: { 'content-type': p.contentType } });
}

/** A request bound on a fetch runtime: its scope, and how to finish it. */
interface FetchBinding {
  scope: CancelScope;
  stop: () => void;
}

/**
 * Binds a fetch `Request` (no node:http objects): the context of `request`, from its headers,
 * ending with `ClientDisconnectedError` when `request.signal` aborts (the runtime saw the client
 * leave), or — through `finish` — once the response body has been read to its end by the
 * runtime. A request that already has a context gets a child of it (the nesting rule of
 * `bindRequest`). Returns the `InvalidHeaderError` of a malformed budget header.
 */
function bindFetch(request: Request, o: ResolvedRequestOptions): FetchBinding | InvalidHeaderError {
  const carrier = request as unknown as ContextCarrier;
  const outer = carrier[kContext];
  let scope: CancelScope;
  if (outer !== undefined) {
    scope = o.localBudget === Infinity ? withCancel(outer) : withTimeout(outer, o.localBudget);
  } else {
    try {
      scope = extractResolved(request.headers, o.parent, o);
    } catch (e) {
      if (e instanceof InvalidHeaderError) return e;
      throw e;
    }
  }
  carrier[kContext] = scope.ctx;
  const signal = (request as { signal?: AbortSignal }).signal;
  if (signal == null || typeof signal.addEventListener !== 'function') return { scope, stop() {} };
  if (signal.aborted) {
    scope.cancel(ClientDisconnectedError.make());
    return { scope, stop() {} };
  }
  const onAbort = (): void => scope.cancel(ClientDisconnectedError.make());
  signal.addEventListener('abort', onAbort, { once: true });
  const stop = (): void => signal.removeEventListener('abort', onAbort);
  afterFunc(scope.ctx, stop); // the listener goes as soon as the context ends, however it ends
  return { scope, stop };
}

/**
 * `res` with its body wrapped so that `b`'s context ends once the runtime has read the body to
 * its end (`ResponseFinishedError`) or cancelled it (`ClientDisconnectedError`: the client left);
 * a response without a body ends it at once.
 */
function finish(b: FetchBinding, res: Response): Response {
  const body = res.body;
  if (body === null) {
    b.scope.cancel(ResponseFinishedError.make());
    return res;
  }
  const reader = body.getReader();
  const out = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let r: ReadableStreamReadResult<Uint8Array>;
        try {
          r = await reader.read();
        } catch (e) {
          b.scope.cancel(ClientDisconnectedError.make());
          controller.error(e);
          return;
        }
        if (r.done) {
          controller.close();
          b.scope.cancel(ResponseFinishedError.make());
        } else {
          controller.enqueue(r.value);
        }
      },
      cancel(reason) {
        b.scope.cancel(ClientDisconnectedError.make());
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(out, { status: res.status, statusText: res.statusText, headers: res.headers });
}

/**
 * Hono middleware (install it first, `app.use(contextMiddleware())`): makes each request's
 * context, binds it for `current()` (unless `current: false`) for the rest of the chain, and
 * answers a malformed budget header with 400 (RFC 9457 `application/problem+json`, naming the
 * header) unless `invalid: 'ignore'`. Read the context with `getContext(c)`; install
 * `app.onError(contextErrorHandler())` so that failures the context explains are answered as such.
 * - On `@hono/node-server` (`c.env.incoming`/`outgoing`): the semantics of `contextFromRequest`.
 * - Elsewhere (Bun, Deno, Workers, `app.request()`, `app.fetch(new Request(…))`): the context is
 *   read from the `Request`'s headers, ends with `ClientDisconnectedError` when its `signal`
 *   aborts (or the runtime cancels the response body), by its budget, or with
 *   `ResponseFinishedError` once the runtime has read the whole response body.
 * Throws `TypeError` for bad options.
 */
export function contextMiddleware(options?: RequestContextOptions): MiddlewareHandler {
  const o = resolveRequestOptions(options, 'contextMiddleware (hono)');
  return (c, next) => {
    const node = nodePair(c.env);
    if (node !== undefined) {
      const r = bindRequest(node.incoming, node.outgoing, o);
      if (r instanceof InvalidHeaderError) return Promise.resolve(problemResponse(r));
      return runChain(r.ctx, o.current, next);
    }
    const b = bindFetch(c.req.raw, o);
    if (b instanceof InvalidHeaderError) return Promise.resolve(problemResponse(b));
    return runChain(b.scope.ctx, o.current, next).then(
      () => {
        c.res = finish(b, c.res);
      },
      (e: unknown) => {
        b.scope.cancel();
        throw e;
      },
    );
  };
}

/**
 * The same binding as `contextMiddleware`, applied around the app's `fetch` instead of as a Hono
 * middleware: `serve({ fetch: withRequestContext(app.fetch, options) })`. Hono runs an app that
 * has any middleware through its compose machinery, which costs more per request than this
 * wrapper; use it when throughput matters. `getContext(c)` works the same, on `@hono/node-server`
 * and on fetch runtimes alike. A malformed budget header is answered 400 (problem+json) before
 * the app runs. Throws `TypeError` for a non-function `fetch` or bad options.
 */
export function withRequestContext<E, R>(
  fetch: (request: Request, env: E, ...rest: never[]) => R | Promise<R>,
  options?: RequestContextOptions,
): (request: Request, env: E, ...rest: never[]) => R | Response | Promise<R | Response> {
  if (typeof fetch !== 'function') throw new TypeError("withRequestContext: fetch must be the app's fetch function (app.fetch)");
  const o = resolveRequestOptions(options, 'withRequestContext (hono)');
  return (request, env, ...rest) => {
    const node = nodePair(env);
    if (node !== undefined) {
      const r = bindRequest(node.incoming, node.outgoing, o);
      if (r instanceof InvalidHeaderError) return problemResponse(r);
      return runChain(r.ctx, o.current, () => fetch(request, env, ...rest));
    }
    const b = bindFetch(request, o);
    if (b instanceof InvalidHeaderError) return problemResponse(b);
    return Promise.resolve(runChain(b.scope.ctx, o.current, () => fetch(request, env, ...rest))).then(
      (res) => (res instanceof Response ? (finish(b, res) as R | Response) : res),
      (e: unknown) => {
        b.scope.cancel();
        throw e;
      },
    );
  };
}

/** The context of Hono's `c`: from the node:http request on `@hono/node-server`, else from the fetch `Request`. */
function contextOf(c: unknown): Context | undefined {
  if (c === null || typeof c !== 'object') return undefined;
  const incoming = (c as { env?: NodeEnv }).env?.incoming as ContextCarrier | undefined;
  const fromNode = incoming?.[kContext];
  if (fromNode !== undefined) return fromNode;
  const raw = (c as { req?: { raw?: unknown } }).req?.raw;
  if (raw !== null && typeof raw === 'object') return (raw as ContextCarrier)[kContext];
  return (c as ContextCarrier)[kContext]; // an IncomingMessage or Request passed directly
}

/**
 * The context `contextMiddleware` (or `withRequestContext`) made for this request; accepts
 * Hono's context, the raw `IncomingMessage` or the fetch `Request`. Throws `TypeError` when
 * neither ran for this request.
 */
export function getContext(c: HonoContext | IncomingMessage | Request): Context {
  const ctx = contextOf(c);
  if (ctx !== undefined) return ctx;
  return requireContext(
    undefined,
    'getContext (hono)',
    'app.use(contextMiddleware()) from @ctxkit/http/hono must come first (or serve withRequestContext(app.fetch))',
  );
}

/** Options of the Hono `contextErrorHandler`. */
export interface HonoContextErrorOptions extends ContextErrorOptions {
  /**
   * Answers every error that is not a context error. Default: Hono's own default — an
   * `HTTPException`'s response, otherwise the error logged with `console.error` and 500.
   */
  fallback?: ErrorHandler;
}

/** Hono's default error answer (what `app.onError` does when never set). */
const honoDefault: ErrorHandler = (err, c) => {
  if ('getResponse' in err && typeof (err as { getResponse?: unknown }).getResponse === 'function') {
    const res = (err as unknown as { getResponse(): Response }).getResponse();
    return c.newResponse(res.body, res);
  }
  console.error(err);
  return c.text('Internal Server Error', 500);
};

/**
 * A Hono error handler, `app.onError(contextErrorHandler(options))`, that answers the failures a
 * request context explains:
 * - the client left (whatever the error; on fetch runtimes also when the `Request`'s signal has
 *   aborted): nothing is logged, and the answer is an empty 499 (recorded, never seen by the
 *   client, who is gone);
 * - the deadline passed (`DeadlineExceededError`, or the context ended by its deadline): 504 with
 *   an RFC 9457 `application/problem+json` body;
 * - the context was cancelled (`CanceledError`, e.g. `options.parent` ended at shutdown):
 *   `canceledStatus` (default 503), same body format.
 * Every other error goes to `fallback` (default: Hono's own default answer). Throws `TypeError`
 * for bad options.
 */
export function contextErrorHandler(options?: HonoContextErrorOptions): ErrorHandler {
  const fn = 'contextErrorHandler (hono)';
  if (options !== undefined) {
    if (options === null || typeof options !== 'object') throw new TypeError(`${fn}: options must be an object`);
    assertKnownOptions(options, ['canceledStatus', 'fallback'], fn);
  }
  const canceledStatus = resolveCanceledStatus(options, fn);
  const fallback = options?.fallback ?? honoDefault;
  if (typeof fallback !== 'function') throw new TypeError(`${fn}: options.fallback must be a function`);
  return (err, c) => {
    const node = nodePair(c.env);
    const ctx = contextOf(c);
    const a = answerContextError(err, ctx, node?.outgoing, canceledStatus);
    const signal = node === undefined ? (c.req.raw as { signal?: AbortSignal }).signal : undefined;
    if (a?.reason === 'client-gone' || (signal?.aborted === true && ctx !== undefined)) {
      return new Response(null, { status: CLIENT_GONE_STATUS });
    }
    if (a === undefined) return fallback(err, c);
    return new Response(JSON.stringify(a.problem), { status: a.status, headers: { 'content-type': PROBLEM_JSON } });
  };
}
