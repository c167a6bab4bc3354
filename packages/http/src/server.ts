/**
 * The node:http binding: one context per request, ending when the client leaves, when the budget
 * runs out, or once the response has been sent.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { background, assertContext, assertKnownOptions, withCancel, withTimeout, type CancelScope, type Context } from '@ctxkit/core';
import { extractResolved, hasPropagationHeaders, resolveExtract, type ExtractOptions, type ResolvedExtract } from './codec.js';
import { inboundBudget } from './budget.js';
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
  type ContextErrorOptions,
  type Problem,
} from './kit.js';

export { kContext } from './kit.js';
import { compatStream, watchStream } from './http2-lifecycle.js';

/** Options of `contextFromRequest` and of every framework adapter. */
export interface RequestContextOptions extends ExtractOptions {
  /**
   * The parent of every request context (e.g. a server context cancelled at shutdown, so every
   * in-flight request ends with it). Default `background()`.
   */
  parent?: Context;
  /**
   * (`contextHandler` and the framework adapters) Bind the context for `current()` from
   * `@ctxkit/core/node` (AsyncLocalStorage) for the rest of the request's chain. Default `true`.
   * On Node 20 and 22 (unless started with `--experimental-async-context-frame`) AsyncLocalStorage
   * runs on async hooks and adds several µs per request to promise-heavy frameworks; on Node 24 it
   * costs next to nothing (see docs/BENCHMARKS.md). Set `false` when your code passes `ctx`
   * explicitly (as it should) and nothing you do not own needs `current()`. `contextFromRequest`
   * never binds.
   */
  current?: boolean;
}

type WithContext = IncomingMessage & { [kContext]?: Context };

/** @internal Resolved options (validated once). */
export interface ResolvedRequestOptions extends ResolvedExtract {
  parent: Context;
  current: boolean;
  /** The budget of a request without propagation headers (the local limits alone). */
  localBudget: number;
}

function withLocal(r: ResolvedExtract & { parent: Context; current: boolean }): ResolvedRequestOptions {
  return { ...r, localBudget: inboundBudget({}, { ...r, inbound: false }) };
}

const resolvedCache = new WeakMap<object, ResolvedRequestOptions>();
let defaultResolved: ResolvedRequestOptions | undefined;

/** The option names every request binding takes (`RequestContextOptions`). */
const REQUEST_OPTION_KEYS: readonly string[] = ['timeoutMs', 'maxTimeoutMs', 'invalid', 'inbound', 'baggage', 'parent', 'current'];

/**
 * @internal Validates options, throwing `TypeError` naming the bad one (an unknown key included,
 * unless listed in `extraKeys`: the binding's own options); cached per object.
 */
export function resolveRequestOptions(
  o: RequestContextOptions | undefined,
  fn: string,
  extraKeys?: readonly string[],
): ResolvedRequestOptions {
  if (o === undefined) return (defaultResolved ??= withLocal({ ...resolveExtract(undefined, fn), parent: background(), current: true }));
  let r = typeof o === 'object' && o !== null ? resolvedCache.get(o) : undefined;
  if (r === undefined) {
    if (typeof o === 'object' && o !== null) {
      assertKnownOptions(o, extraKeys === undefined ? REQUEST_OPTION_KEYS : [...REQUEST_OPTION_KEYS, ...extraKeys], fn);
    }
    const parent = o.parent ?? background();
    assertContext(parent, `${fn}: options.parent`);
    if (o.current !== undefined && typeof o.current !== 'boolean') throw new TypeError(`${fn}: options.current must be a boolean`);
    r = withLocal({ ...resolveExtract(o, fn), parent, current: o.current !== false });
    resolvedCache.set(o, r);
  }
  return r;
}

/**
 * @internal Makes the request's scope, or returns the `InvalidHeaderError` when a budget header
 * is malformed (the caller answers it with `invalidHeaderProblem`). Binds the scope to the
 * response's lifecycle. A request that already has a context (an outer binding made it) gets a
 * child of that context instead (`deriveNested`).
 */
export function bindRequest(req: IncomingMessage, res: ServerResponse, o: ResolvedRequestOptions): CancelScope | InvalidHeaderError {
  const existing = (req as WithContext)[kContext];
  if (existing !== undefined) return deriveNested(req, res, existing, o);
  return bindFresh(req, res, req.headers, o);
}

/**
 * The one rule for a request that already has a context (an outer `contextHandler`, a parent
 * app's middleware, an earlier `contextFromRequest`): the new binding makes a child of it, whose
 * deadline is the earlier of the outer one and this binding's own `timeoutMs` / `maxTimeoutMs`,
 * and stores it as the request's context (`getContext` then returns the innermost). The inbound
 * headers were read by the outer binding and are not read again; this binding's `parent`,
 * `inbound`, `invalid` and `baggage` do not apply. The child ends when the outer context ends
 * (the response closing ends that one) or earlier by its own deadline; its scope is cancelled
 * when the response closes, as every scope must be by whoever made it.
 */
function deriveNested(req: IncomingMessage, res: ServerResponse, outer: Context, o: ResolvedRequestOptions): CancelScope {
  const scope = o.localBudget === Infinity ? withCancel(outer) : withTimeout(outer, o.localBudget);
  (req as WithContext)[kContext] = scope.ctx;
  res.once('close', () => scope.cancel());
  return scope;
}

/** `bindRequest` for a request known to have no context yet, its headers already read. */
function bindFresh(
  req: IncomingMessage,
  res: ServerResponse,
  headers: IncomingMessage['headers'],
  o: ResolvedRequestOptions,
): CancelScope | InvalidHeaderError {
  let scope: CancelScope;
  const h = headers as Record<string, string | string[] | undefined>;
  if (!hasPropagationHeaders(h, o)) {
    // Most requests carry no propagation header: the local limits alone (what extractResolved
    // would compute, without its generic reads by variable name).
    scope = o.localBudget === Infinity ? withCancel(o.parent) : withTimeout(o.parent, o.localBudget);
  } else {
    try {
      scope = extractResolved(h, o.parent, o);
    } catch (e) {
      if (e instanceof InvalidHeaderError) return e;
      throw e;
    }
  }
  (req as WithContext)[kContext] = scope.ctx;
  watch(req, res, scope);
  return scope;
}

/**
 * Ends `scope` when `res` closes: with `ResponseFinishedError` when the response was completely
 * sent, with `ClientDisconnectedError` otherwise. `res` emits 'close' when its socket closes, so
 * one listener on `res` suffices while the response owns the socket; a pipelined request whose
 * response has no socket yet also listens on the socket, and removes that listener when its
 * response closes, so a keep-alive connection never collects listeners nor ends a later request.
 * `req`'s own 'close' is never used: it fires as soon as a request body has been read.
 */
function watch(req: IncomingMessage, res: ServerResponse, scope: CancelScope): void {
  // Express swaps the prototypes of req and res on every request, after which each property
  // access on them costs ~0.5 µs on Node 20 (20–50× a plain node:http object's): read each
  // property once, and prefer plain fields to getters built on several of them.
  const socket = req.socket as IncomingMessage['socket'] | null | undefined;
  if (socket != null && res.socket === socket && res.destroyed === false) {
    // The common case, decided on three plain fields: the response owns the live connection.
    // node:http then emits 'close' on res exactly once, from the finished response or from the
    // socket closing under it, and marks res destroyed when it does, so a live, undestroyed res
    // still has its 'close' ahead (a socket already destroyed but not yet closed included). A
    // response that finished already has given up its socket (res.socket is null): not here.
    // The listener goes away with res; a closure holding the scope costs less than keeping the
    // scope on res (a property added to and read back from res).
    res.on('close', () => {
      scope.cancel(endCause(res));
    });
    return;
  }
  // node:http2's compatibility API (Fastify `http2: true`, @hono/node-server on HTTP/2): its
  // response has no `destroyed`; the stream's own lifecycle says how the request ended.
  const stream = res.destroyed === undefined ? compatStream(req) : undefined;
  if (stream !== undefined) {
    watchStream(stream, scope);
    return;
  }
  // `writableEnded` (end() was called) is one field; `writableFinished` (also flushed) reads several.
  if (res.writableEnded && res.writableFinished) {
    scope.cancel(ResponseFinishedError.make());
    return;
  }
  if (res.destroyed || socket == null || socket.destroyed) {
    scope.cancel(ClientDisconnectedError.make());
    return;
  }
  // A pipelined request whose response has no socket yet.
  const onClose = (): void => {
    res.removeListener('close', onClose);
    socket.removeListener('close', onClose);
    scope.cancel(endCause(res));
  };
  res.on('close', onClose);
  socket.on('close', onClose);
}

/** Why a request context ends when its response closes: the response was sent, or the client left. */
function endCause(res: ServerResponse): ResponseFinishedError | ClientDisconnectedError {
  return sent(res) ? ResponseFinishedError.make() : ClientDisconnectedError.make();
}

/**
 * True when `res` was completely sent: flushed to the socket (`writableFinished`), or ended with
 * its connection still open (in-process injectors such as light-my-request never flush).
 */
function sent(res: ServerResponse): boolean {
  if (res.writableFinished) return true;
  if (!res.writableEnded) return false;
  const s = res.socket ?? (res as { req?: IncomingMessage }).req?.socket;
  return s == null ? false : s.destroyed !== true;
}

/** @internal Writes `problem` (RFC 9457) as the whole response, unless the response has started. */
export function writeProblem(res: ServerResponse, status: number, problem: Problem | string): void {
  if (res.headersSent || res.writableEnded) return;
  const body = typeof problem === 'string' ? problem : JSON.stringify(problem);
  res.writeHead(status, { 'content-type': PROBLEM_JSON, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** @internal Answers a malformed budget header: 400, `application/problem+json` (see `invalidHeaderProblem`). */
export function answerInvalid(res: ServerResponse, e: InvalidHeaderError): void {
  const p = invalidHeaderProblem(e);
  writeProblem(res, p.status, p.body);
}

/**
 * Makes the context of one node:http request and returns its scope. The context ends:
 * - when the client goes away before the response has been completely sent — `CanceledError`,
 *   `cause(ctx)` a `ClientDisconnectedError` (detected on the response and its socket, never on
 *   `req` 'close', so a POST whose body has been read is NOT cancelled while its client waits);
 * - when the effective budget runs out — `DeadlineExceededError` (the smallest of the inbound
 *   `ctxkit-timeout-ms` / `grpc-timeout` / `x-envoy-expected-rq-timeout-ms`, `timeoutMs`,
 *   `maxTimeoutMs`; with none of them, no deadline);
 * - once the response has been completely sent — `CanceledError`, `cause(ctx)` a
 *   `ResponseFinishedError` (as Go ends a request's context when its handler returns). Work
 *   meant to outlive the response must run on `withoutCancel(ctx)` with its own timeout.
 * - when `scope.cancel()` is called or `options.parent` ends.
 * A malformed budget header is answered `400` with an RFC 9457 `application/problem+json` body
 * naming the header (unless `invalid: 'ignore'`), and the returned context has already ended
 * with that `InvalidHeaderError` as cause: check `scope.ctx.err` before handling (or use
 * `contextHandler`). The binding removes its listeners when the response closes; on a
 * keep-alive connection one request's end never touches the next.
 * A request that already has a context (an outer binding made it) gets a child of that context,
 * with this call's `timeoutMs`/`maxTimeoutMs` applied and the inbound headers not read again; it
 * becomes the request's context (`getRequestContext`) — the same rule as every binding.
 * The caller owns the returned scope (cancelling it is optional: it ends with the response).
 * Throws `TypeError` for bad options only.
 */
export function contextFromRequest(req: IncomingMessage, res: ServerResponse, options?: RequestContextOptions): CancelScope {
  // node:http's `req.headers` is a getter: read it once.
  const headers = req === null || typeof req !== 'object' ? undefined : (req as { headers?: unknown }).headers;
  if (headers === null || typeof headers !== 'object') {
    throw new TypeError('contextFromRequest: req must be a node:http IncomingMessage');
  }
  if (res === null || typeof res !== 'object' || typeof (res as { on?: unknown }).on !== 'function') {
    throw new TypeError('contextFromRequest: res must be a node:http ServerResponse');
  }
  const o = resolveRequestOptions(options, 'contextFromRequest');
  const existing = (req as WithContext)[kContext];
  if (existing !== undefined) return deriveNested(req as IncomingMessage, res as ServerResponse, existing, o);
  const r = bindFresh(req, res, headers as IncomingMessage['headers'], o);
  if (!(r instanceof InvalidHeaderError)) return r;
  const scope = withCancel(o.parent);
  scope.cancel(r);
  (req as WithContext)[kContext] = scope.ctx;
  answerInvalid(res, r);
  return scope;
}

/**
 * The context `contextFromRequest` (or a framework adapter) made for `req`. Throws `TypeError`
 * when there is none — the binding or middleware is not installed on this route.
 */
export function getRequestContext(req: IncomingMessage): Context {
  return requireContext(
    req,
    'getRequestContext',
    'call contextFromRequest(req, res) or wrap the listener in contextHandler() from @ctxkit/http (or install the framework adapter) first',
  );
}

/** A request handler that receives the request's context first. */
export type ContextRequestHandler = (ctx: Context, req: IncomingMessage, res: ServerResponse) => unknown;

/** Options of `contextHandler`. */
export interface ContextHandlerOptions extends RequestContextOptions, ContextErrorOptions {
  /**
   * Called when the handler throws or rejects, instead of the default answer. Default: when the
   * response has not started — nothing sent when the client left (the connection is gone; the
   * status is recorded as 499 in `res.statusCode`), 504 when the budget ran out, `canceledStatus`
   * (503) for a cancelled context, 500 otherwise, each with an RFC 9457
   * `application/problem+json` body; when it has started, the response is destroyed.
   */
  onError?: (error: unknown, ctx: Context, req: IncomingMessage, res: ServerResponse) => void;
}

/**
 * Wraps `handler` as a node:http request listener: makes the request's context with the
 * semantics of `contextFromRequest`, answers a malformed budget header with 400 (RFC 9457
 * `application/problem+json`, naming the header) without calling `handler`, then calls
 * `handler(ctx, req, res)` with `ctx` also bound for `current()` (`@ctxkit/core/node`; unless
 * `current: false`), and turns a throw or rejection into an answer (see `onError`) so it can
 * never crash the process. The handler still writes the response itself; the context ends once
 * it is sent. Throws `TypeError` for a non-function handler or bad options.
 */
export function contextHandler(
  handler: ContextRequestHandler,
  options?: ContextHandlerOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  if (typeof handler !== 'function') throw new TypeError('contextHandler: handler must be a function');
  const o = resolveRequestOptions(options, 'contextHandler', ['onError', 'canceledStatus']);
  const canceledStatus = resolveCanceledStatus(options, 'contextHandler');
  const onError = options?.onError;
  if (onError !== undefined && typeof onError !== 'function') throw new TypeError('contextHandler: options.onError must be a function');
  return (req, res) => {
    const r = bindRequest(req, res, o);
    if (r instanceof InvalidHeaderError) {
      answerInvalid(res, r);
      return;
    }
    const ctx = r.ctx;
    const fail = (e: unknown): void => {
      if (onError !== undefined) {
        try {
          onError(e, ctx, req, res);
        } catch (e2) {
          defaultOnError(e2, ctx, res, canceledStatus);
        }
      } else {
        defaultOnError(e, ctx, res, canceledStatus);
      }
    };
    try {
      const out = runChain(ctx, o.current, () => handler(ctx, req, res));
      if (out !== null && typeof out === 'object' && typeof (out as PromiseLike<unknown>).then === 'function') {
        (out as PromiseLike<unknown>).then(undefined, fail);
      }
    } catch (e) {
      fail(e);
    }
  };
}

function defaultOnError(e: unknown, ctx: Context, res: ServerResponse, canceledStatus: number): void {
  const a = answerContextError(e, ctx, res, canceledStatus);
  if (a?.reason === 'client-gone') {
    if (!res.headersSent) res.statusCode = CLIENT_GONE_STATUS;
    return;
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (a !== undefined) {
    writeProblem(res, a.status, a.problem);
    return;
  }
  writeProblem(res, 500, { type: 'about:blank', title: 'Internal Server Error', status: 500, detail: 'the request handler failed' });
}
