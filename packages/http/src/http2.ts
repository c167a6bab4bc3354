/**
 * The node:http2 binding: one context per HTTP/2 stream (one request), ending when the client
 * resets the stream, when the session goes away, once the response has been sent, or when the
 * budget runs out. Both server APIs: the `'stream'` event (`contextFromStream`, `streamHandler`)
 * and the compatibility API of `http2.createServer((req, res) => …)` / `createSecureServer`
 * (`contextFromHttp2Request`, `http2Handler`). Inbound headers, limits and the malformed-header
 * answer are those of the node:http binding.
 */
import type { Http2ServerRequest, Http2ServerResponse, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { cause, isDeadlineExceeded, withCancel, withTimeout, type CancelScope, type Context } from '@ctxkit/core';
import { runWith } from '@ctxkit/core/node';
import { extractResolved, hasPropagationHeaders } from './codec.js';
import { ClientDisconnectedError, InvalidHeaderError } from './errors.js';
import { compatStream, watchStream } from './http2-lifecycle.js';
import { bindRequest, kContext, resolveRequestOptions, type RequestContextOptions, type ResolvedRequestOptions } from './server.js';

export { SessionClosedError, StreamResetError } from './http2-lifecycle.js';

/**
 * Resets a stream whose handler failed after its response started: the client sees RST_STREAM
 * with INTERNAL_ERROR (what `destroy(err)` sends). `stream.close(INTERNAL_ERROR)` is not enough:
 * on Node 24, once the request's readable side has ended, it ends the stream with NO_ERROR and
 * the client cannot tell a cut-off response from a complete one. The error `destroy` emits on
 * the stream is this library's own and is not rethrown.
 */
function resetAfterFailure(stream: ServerHttp2Stream): void {
  stream.on('error', ignoreOwnError);
  stream.destroy(new Error('the handler failed after the response started'));
}

function ignoreOwnError(): void {}

type WithContext = { [kContext]?: Context };

function isStream(x: unknown): x is ServerHttp2Stream {
  return (
    x !== null &&
    typeof x === 'object' &&
    typeof (x as { respond?: unknown }).respond === 'function' &&
    typeof (x as { on?: unknown }).on === 'function'
  );
}

/** A scope that shares a context an outer binding made (cancelling it does nothing). */
function shared(ctx: Context): CancelScope {
  return { ctx, cancel() {}, [Symbol.dispose]() {} };
}

/** The request's scope from its headers and the local limits, or the malformed header's error. */
function scopeFromHeaders(headers: IncomingHttpHeaders, o: ResolvedRequestOptions): CancelScope | InvalidHeaderError {
  const h = headers as Record<string, string | string[] | undefined>;
  if (!hasPropagationHeaders(h, o)) return o.localBudget === Infinity ? withCancel(o.parent) : withTimeout(o.parent, o.localBudget);
  try {
    return extractResolved(h, o.parent, o);
  } catch (e) {
    if (e instanceof InvalidHeaderError) return e;
    throw e;
  }
}

/** Makes (or shares) the stream's scope and binds it to the stream's lifecycle. */
function bindStream(
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  o: ResolvedRequestOptions,
  onError?: (e: unknown) => void,
): CancelScope | InvalidHeaderError {
  const existing = (stream as WithContext)[kContext];
  if (existing !== undefined) return shared(existing);
  const r = scopeFromHeaders(headers, o);
  if (r instanceof InvalidHeaderError) return r;
  (stream as WithContext)[kContext] = r.ctx;
  watchStream(stream, r, onError);
  return r;
}

function canAnswer(stream: ServerHttp2Stream): boolean {
  return !stream.headersSent && !stream.destroyed && !stream.closed;
}

/** Answers `status` with a short text body on the stream, if it can still answer. */
function answerStream(stream: ServerHttp2Stream, status: number, text: string): void {
  if (!canAnswer(stream)) return;
  const body = `${text}\n`;
  stream.respond({ ':status': status, 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  stream.end(body);
}

/** Answers `status` with a short text body through the compatibility response, if it can. */
function answerCompat(res: Http2ServerResponse, status: number, text: string): void {
  if (res.headersSent || res.writableEnded || !canAnswer(res.stream)) return;
  const body = `${text}\n`;
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** A scope already ended with the malformed header's error, for the bare bindings. */
function endedScope(parent: Context, e: InvalidHeaderError): CancelScope {
  const scope = withCancel(parent);
  scope.cancel(e);
  return scope;
}

/**
 * Makes the context of one HTTP/2 stream (a request, as the server's `'stream'` event hands it:
 * `server.on('stream', (stream, headers) => …)`) and returns its scope. The context ends:
 * - when the client resets the stream (RST_STREAM, e.g. `req.close(NGHTTP2_CANCEL)` on a
 *   `node:http2` client) before the response was completely sent — `CanceledError`,
 *   `cause(ctx)` a `StreamResetError` (its `code` the HTTP/2 error code);
 * - when the session goes away before then (its socket closed, a GOAWAY with an error code, the
 *   session destroyed) — `CanceledError`, `cause(ctx)` a `SessionClosedError`. Both are
 *   `ClientDisconnectedError`s. A graceful GOAWAY (NO_ERROR, a client's `session.close()`) ends
 *   nothing by itself: the client still waits for the streams it opened;
 * - when the effective budget runs out — `DeadlineExceededError` (the smallest of the inbound
 *   `ctxkit-timeout-ms` / `grpc-timeout` / `x-envoy-expected-rq-timeout-ms`, `timeoutMs`,
 *   `maxTimeoutMs`; with none of them, no deadline);
 * - once the response has been sent (the stream closed with NO_ERROR after the server ended its
 *   side) — `CanceledError`, `cause(ctx)` a `ResponseFinishedError`. Work meant to outlive the
 *   response must run on `withoutCancel(ctx)` with its own timeout;
 * - when `scope.cancel()` is called or `options.parent` ends.
 * A malformed budget header is answered `400` with a message naming the header (unless
 * `invalid: 'ignore'`), and the returned context has already ended with that
 * `InvalidHeaderError` as cause: check `scope.ctx.err` before handling (or use `streamHandler`).
 * `traceparent`/`tracestate` and allowlisted `baggage` are read as node:http's binding reads them.
 * The binding adds two listeners to the stream (`'aborted'`, `'close'`), removed when it closes,
 * and none to the session. It adds no `'error'` listener: as with any `node:http2` stream, add
 * one (a client's RST_STREAM with an error code is emitted as a stream `'error'`), or use
 * `streamHandler`. Called again for a stream that already has a context, it returns a new child
 * of that context, which the caller owns. Throws `TypeError` for bad arguments or options only.
 */
export function contextFromStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, options?: RequestContextOptions): CancelScope {
  if (!isStream(stream)) throw new TypeError('contextFromStream: stream must be a node:http2 ServerHttp2Stream');
  if (headers === null || typeof headers !== 'object') {
    throw new TypeError("contextFromStream: headers must be the headers object of the server's 'stream' event");
  }
  const o = resolveRequestOptions(options, 'contextFromStream');
  const existing = (stream as WithContext)[kContext];
  if (existing !== undefined) return withCancel(existing); // already bound: a child the caller owns
  const r = bindStream(stream, headers, o);
  if (!(r instanceof InvalidHeaderError)) return r;
  const scope = endedScope(o.parent, r);
  (stream as WithContext)[kContext] = scope.ctx;
  answerStream(stream, r.status, r.message);
  return scope;
}

/** A `'stream'` event handler that receives the stream's context first. */
export type StreamContextHandler = (ctx: Context, stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number) => unknown;

/** Options of `streamHandler`. */
export interface StreamHandlerOptions extends RequestContextOptions {
  /**
   * Called when the handler throws or rejects, instead of the default answer. Default: when the
   * response has not started, 504 for an ended budget, nothing when the client left (the stream
   * is gone), 500 otherwise; when it has started, the stream is reset with INTERNAL_ERROR.
   */
  onError?: (error: unknown, ctx: Context, stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void;
}

/** Ignores a stream's `'error'`: its context records how the stream ended. */
function ignoreStreamError(): void {}

/**
 * Wraps `handler` as a listener of the server's `'stream'` event
 * (`server.on('stream', streamHandler(handler))`): makes the stream's context with the semantics
 * of `contextFromStream`, answers 400 for a malformed budget header without calling `handler`,
 * then calls `handler(ctx, stream, headers, flags)` with `ctx` also bound for `current()`
 * (`@ctxkit/core/node`; unless `current: false`), and turns a throw or rejection into an answer
 * (see `onError`) so it can never crash the process. It also listens for the stream's `'error'`
 * (a client's RST_STREAM with an error code), which would otherwise crash a process that did not;
 * the context says how the stream ended. The handler still writes the response itself; the
 * context ends once it is sent. Throws `TypeError` for a bad handler or options.
 */
export function streamHandler(
  handler: StreamContextHandler,
  options?: StreamHandlerOptions,
): (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number) => void {
  if (typeof handler !== 'function') throw new TypeError('streamHandler: handler must be a function');
  const o = resolveRequestOptions(options, 'streamHandler', ['onError']);
  const onError = options?.onError;
  if (onError !== undefined && typeof onError !== 'function') throw new TypeError('streamHandler: options.onError must be a function');
  return (stream, headers, flags) => {
    const r = bindStream(stream, headers, o, ignoreStreamError);
    if (r instanceof InvalidHeaderError) {
      stream.on('error', ignoreStreamError);
      answerStream(stream, r.status, r.message);
      return;
    }
    const ctx = r.ctx;
    const fail = (e: unknown): void => {
      try {
        if (onError === undefined) defaultStreamError(e, ctx, stream);
        else onError(e, ctx, stream, headers);
      } catch (e2) {
        defaultStreamError(e2, ctx, stream);
      }
    };
    settle(() => (o.current ? runWith(ctx, () => handler(ctx, stream, headers, flags)) : handler(ctx, stream, headers, flags)), fail);
  };
}

/** Runs `call`, sending a throw or a rejection of what it returns to `fail`. */
function settle(call: () => unknown, fail: (e: unknown) => void): void {
  try {
    const out = call();
    if (out !== null && typeof out === 'object' && typeof (out as PromiseLike<unknown>).then === 'function') {
      (out as PromiseLike<unknown>).then(undefined, fail);
    }
  } catch (e) {
    fail(e);
  }
}

/** What a handler's failure is answered with: 504 for an ended budget, 500 otherwise. */
function failureStatus(e: unknown, ctx: Context): [number, string] {
  return isDeadlineExceeded(e) || isDeadlineExceeded(ctx.err) ? [504, 'deadline exceeded'] : [500, 'internal server error'];
}

function defaultStreamError(e: unknown, ctx: Context, stream: ServerHttp2Stream): void {
  if (stream.destroyed || stream.closed || cause(ctx) instanceof ClientDisconnectedError) return;
  if (stream.headersSent) {
    resetAfterFailure(stream);
    return;
  }
  const [status, text] = failureStatus(e, ctx);
  answerStream(stream, status, text);
}

/**
 * Makes the context of one request of `node:http2`'s compatibility API
 * (`http2.createServer((req, res) => …)`, `http2.createSecureServer(…)`) and returns its scope:
 * the semantics of `contextFromStream` for `req.stream`, with the 400 for a malformed budget
 * header written through `res`. The context is kept on `req`: `getStreamContext(req)` and
 * `getRequestContext(req)` return it, and the framework adapters (Fastify with `http2: true`,
 * Hono on `@hono/node-server` with `createServer: http2.createServer`) share it. Called again
 * for a request that already has a context, it returns a new child of that context, which the
 * caller owns. Throws `TypeError` for bad arguments or options only.
 */
export function contextFromHttp2Request(req: Http2ServerRequest, res: Http2ServerResponse, options?: RequestContextOptions): CancelScope {
  if (req === null || typeof req !== 'object' || compatStream(req) === undefined) {
    throw new TypeError('contextFromHttp2Request: req must be a node:http2 Http2ServerRequest');
  }
  if (res === null || typeof res !== 'object' || typeof (res as { writeHead?: unknown }).writeHead !== 'function') {
    throw new TypeError('contextFromHttp2Request: res must be a node:http2 Http2ServerResponse');
  }
  const o = resolveRequestOptions(options, 'contextFromHttp2Request');
  const existing = (req as WithContext)[kContext];
  if (existing !== undefined) return withCancel(existing);
  const r = bindRequest(req as never, res as never, o);
  if (!(r instanceof InvalidHeaderError)) return r;
  const scope = endedScope(o.parent, r);
  (req as WithContext)[kContext] = scope.ctx;
  answerCompat(res, r.status, r.message);
  return scope;
}

/** A compatibility-API request handler that receives the request's context first. */
export type Http2ContextRequestHandler = (ctx: Context, req: Http2ServerRequest, res: Http2ServerResponse) => unknown;

/** Options of `http2Handler`. */
export interface Http2HandlerOptions extends RequestContextOptions {
  /**
   * Called when the handler throws or rejects, instead of the default answer. Default: when the
   * response has not started, 504 for an ended budget, nothing when the client left (the stream
   * is gone), 500 otherwise; when it has started, the stream is reset with INTERNAL_ERROR.
   */
  onError?: (error: unknown, ctx: Context, req: Http2ServerRequest, res: Http2ServerResponse) => void;
}

/**
 * Wraps `handler` as a request listener of `node:http2`'s compatibility API
 * (`http2.createServer(http2Handler(handler))`): makes the request's context with
 * `contextFromHttp2Request`'s semantics, answers 400 for a malformed budget header without
 * calling `handler`, then calls `handler(ctx, req, res)` with `ctx` also bound for `current()`
 * (unless `current: false`), and turns a throw or rejection into an answer (see `onError`) so it
 * can never crash the process. The handler still writes the response; the context ends once it
 * is sent. Throws `TypeError` for a bad handler or options.
 */
export function http2Handler(
  handler: Http2ContextRequestHandler,
  options?: Http2HandlerOptions,
): (req: Http2ServerRequest, res: Http2ServerResponse) => void {
  if (typeof handler !== 'function') throw new TypeError('http2Handler: handler must be a function');
  const o = resolveRequestOptions(options, 'http2Handler', ['onError']);
  const onError = options?.onError;
  if (onError !== undefined && typeof onError !== 'function') throw new TypeError('http2Handler: options.onError must be a function');
  return (req, res) => {
    const r = bindRequest(req as never, res as never, o);
    if (r instanceof InvalidHeaderError) {
      answerCompat(res, r.status, r.message);
      return;
    }
    const ctx = r.ctx;
    const fail = (e: unknown): void => {
      try {
        if (onError === undefined) defaultCompatError(e, ctx, res);
        else onError(e, ctx, req, res);
      } catch (e2) {
        defaultCompatError(e2, ctx, res);
      }
    };
    settle(() => (o.current ? runWith(ctx, () => handler(ctx, req, res)) : handler(ctx, req, res)), fail);
  };
}

function defaultCompatError(e: unknown, ctx: Context, res: Http2ServerResponse): void {
  const stream = res.stream;
  if (stream.destroyed || stream.closed || cause(ctx) instanceof ClientDisconnectedError) return;
  if (res.headersSent) {
    resetAfterFailure(stream);
    return;
  }
  const [status, text] = failureStatus(e, ctx);
  answerCompat(res, status, text);
}

/**
 * The context a binding of this module made for a stream (`contextFromStream`, `streamHandler`)
 * or for a compatibility-API request (`contextFromHttp2Request`, `http2Handler`, or a framework
 * adapter on HTTP/2): pass the stream or the `Http2ServerRequest`. Throws `TypeError` when there
 * is none — no binding ran for it.
 */
export function getStreamContext(x: ServerHttp2Stream | Http2ServerRequest): Context {
  const ctx = (x as WithContext | null | undefined)?.[kContext];
  if (ctx === undefined) {
    throw new TypeError(
      'getStreamContext: no context for this stream or request — use streamHandler / contextFromStream (stream event) or http2Handler / contextFromHttp2Request (compatibility API) first',
    );
  }
  return ctx;
}
