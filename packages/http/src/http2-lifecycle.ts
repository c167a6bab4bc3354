/**
 * The lifecycle of one `node:http2` server stream, as the end of a request context: the causes
 * an HTTP/2 request context ends with, and the watcher that ends it. Shared by the `node:http2`
 * binding (`http2.ts`) and by the node:http binding when a framework hands it the compatibility
 * API's request and response (Fastify with `http2: true`, `@hono/node-server` on an HTTP/2
 * server). Imports nothing from the bindings, so both can import it.
 */
import type { Http2Session, ServerHttp2Stream } from 'node:http2';
import type { CancelScope } from '@ctxkit/core';
import { ClientDisconnectedError, ResponseFinishedError, withoutStack } from './errors.js';

/** HTTP/2 error code NO_ERROR (RFC 9113 §7): a stream closed without an error. */
const NO_ERROR = 0;

/**
 * The HTTP/2 stream was reset before its response was completely sent: the client sent
 * RST_STREAM (e.g. `req.close(http2.constants.NGHTTP2_CANCEL)`: it stopped waiting for this one
 * request), or the server reset it itself (`stream.close(code)`, `stream.destroy()`). The session
 * lives on. `cause(ctx)` of an HTTP/2 request context that ended this way; `ctx.err` is a
 * `CanceledError`. A `ClientDisconnectedError`, so code that checks for a departed client needs
 * one test for HTTP/1.1 and HTTP/2. Carries no stack.
 */
export class StreamResetError extends ClientDisconnectedError {
  constructor(
    /** The HTTP/2 error code the stream was closed with (`http2.constants.NGHTTP2_*`; 8 = CANCEL). */
    readonly code: number,
    message = `HTTP/2 stream reset (error code ${code}) before the response was complete`,
  ) {
    super(message);
  }
  override get name(): string {
    return 'StreamResetError';
  }
}

/**
 * The HTTP/2 session (the connection) went away before the stream's response was completely
 * sent, taking every stream on it along: its socket closed, the client sent GOAWAY with an error
 * code (Node then destroys the session), or the server destroyed the session. `cause(ctx)` of an
 * HTTP/2 request context that ended this way; `ctx.err` is a `CanceledError`. A
 * `ClientDisconnectedError`. A graceful GOAWAY (NO_ERROR, what a client's `session.close()`
 * sends) ends nothing by itself: the client still waits for the streams already open. Carries no
 * stack.
 */
export class SessionClosedError extends ClientDisconnectedError {
  constructor(
    /**
     * The HTTP/2 error code the stream was closed with as the session ended: the GOAWAY's code
     * when the client sent one with an error, else typically 8 (CANCEL) or 0 (NO_ERROR).
     */
    readonly code: number,
    message = 'HTTP/2 session closed before the response was complete',
  ) {
    super(message);
  }
  override get name(): string {
    return 'SessionClosedError';
  }
}

/** The causes, made on the request path: no stack capture. */
const streamReset = (code: number): StreamResetError => withoutStack(() => new StreamResetError(code));
const sessionClosed = (code: number): SessionClosedError => withoutStack(() => new SessionClosedError(code));

/** True when `session` (the stream's, read when the binding was made) is gone or going. */
function sessionGone(session: Http2Session | undefined): boolean {
  if (session === undefined || session.destroyed) return true;
  try {
    // The session's socket proxy: reading a property forwards it to the socket. A socket that
    // closed under the session has not destroyed the session yet when the streams abort.
    return (session.socket as { destroyed?: boolean } | undefined)?.destroyed === true;
  } catch {
    return true; // the proxy throws once the session has released its socket
  }
}

/** Why a stream that closed before its response was complete ended. */
function disconnectCause(stream: ServerHttp2Stream, session: Http2Session | undefined): ClientDisconnectedError {
  const code = stream.rstCode ?? NO_ERROR;
  return sessionGone(session) ? sessionClosed(code) : streamReset(code);
}

/**
 * @internal Ends `scope` when `stream`'s request is over, with the cause as `cause(ctx)`:
 * - `'aborted'` (the stream closed before the server ended its side: a client's RST_STREAM, the
 *   session going away) → `StreamResetError` or `SessionClosedError`, at once;
 * - `'close'` after the server ended its side → `ResponseFinishedError` when the stream closed
 *   with NO_ERROR, else `StreamResetError` / `SessionClosedError`.
 * `onError`, when given, is also added as the stream's `'error'` listener (so a client's
 * RST_STREAM with an error code, which Node reports as a stream 'error', cannot crash the
 * process). Every listener is on the stream and removed on its `'close'` (its last event);
 * nothing is added to the session, so a long-lived session with any number of streams never
 * collects listeners. A stream already closed ends `scope` at once.
 */
export function watchStream(stream: ServerHttp2Stream, scope: CancelScope, onError?: (e: unknown) => void): void {
  const session = stream.session;
  if (stream.destroyed || stream.closed) {
    const done = stream.rstCode === NO_ERROR && stream.headersSent;
    scope.cancel(done ? ResponseFinishedError.make() : disconnectCause(stream, session));
    return;
  }
  const onAborted = (): void => {
    scope.cancel(disconnectCause(stream, session));
  };
  const onClose = (): void => {
    stream.removeListener('aborted', onAborted);
    stream.removeListener('close', onClose);
    if (onError !== undefined) stream.removeListener('error', onError);
    const code = stream.rstCode;
    scope.cancel(code === undefined || code === NO_ERROR ? ResponseFinishedError.make() : disconnectCause(stream, session));
  };
  stream.on('aborted', onAborted);
  stream.on('close', onClose);
  if (onError !== undefined) stream.on('error', onError);
}

/**
 * @internal The stream of a `node:http2` compatibility-API request (`Http2ServerRequest`), or
 * undefined for anything else (a node:http `IncomingMessage` has no `stream`).
 */
export function compatStream(req: object): ServerHttp2Stream | undefined {
  const s = (req as { stream?: unknown }).stream;
  return s !== null && typeof s === 'object' && typeof (s as { respond?: unknown }).respond === 'function'
    ? (s as ServerHttp2Stream)
    : undefined;
}
