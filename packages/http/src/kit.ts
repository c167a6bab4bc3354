/**
 * @internal The adapter kit: what every binding (node:http, Express, Fastify, Koa, Hono) does the
 * same way, written once — reading the request's context, the answer to a malformed propagation
 * header, running the rest of the chain inside the context, and what a failed request is
 * answered when a context ended it.
 *
 * Portable: no Node built-ins at module level (the Hono adapter also runs on Bun, Deno, Workers).
 */
import { cause, isCanceled, isDeadlineExceeded, type Context } from '@ctxkit/core';
import { runWith } from '@ctxkit/core/node';
import { ClientDisconnectedError, ResponseFinishedError, type InvalidHeaderError } from './errors.js';

/** The property under which a request's context is kept on its carrier (`req`, a fetch `Request`). */
export const kContext: unique symbol = Symbol.for('@ctxkit/http request context') as never;

/** Anything a binding may have stored a context on. */
export type ContextCarrier = { [kContext]?: Context };

/**
 * The context a binding stored on `carrier`; throws `TypeError` when there is none, naming
 * `fn` and telling the user which binding to install (`install`) — never returns undefined.
 */
export function requireContext(carrier: unknown, fn: string, install: string): Context {
  const ctx = carrier !== null && typeof carrier === 'object' ? (carrier as ContextCarrier)[kContext] : undefined;
  if (ctx === undefined) throw new TypeError(`${fn}: this request has no context — ${install}`);
  return ctx;
}

/**
 * Runs `next` (the rest of the request's chain) with `ctx` bound for `current()` when `bind`,
 * else plainly; returns what `next` returns.
 */
export function runChain<R>(ctx: Context, bind: boolean, next: () => R): R {
  return bind ? runWith(ctx, next) : next();
}

/** The media type of RFC 9457 problem details. */
export const PROBLEM_JSON = 'application/problem+json';

/** An RFC 9457 problem details object, as the bindings answer it. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  /** Extension member of the malformed-header problem: the header's name, lower case. */
  header?: string;
}

/** The problem type URI of a malformed propagation header (documented in the package README). */
export const INVALID_HEADER_TYPE = 'https://github.com/ctxkit/ctxkit/tree/main/packages/http#malformed-propagation-headers';

/**
 * The one answer every binding gives a malformed inbound budget header: status 400,
 * `application/problem+json`, the body naming the header and what was wrong. (Malformed
 * `traceparent`/`tracestate` are ignored, as W3C Trace Context requires; they are never answered.)
 */
export function invalidHeaderProblem(e: InvalidHeaderError): { status: number; contentType: string; body: string } {
  const problem: Problem = {
    type: INVALID_HEADER_TYPE,
    title: 'Malformed propagation header',
    status: e.status,
    detail: e.message,
    header: e.header,
  };
  return { status: e.status, contentType: PROBLEM_JSON, body: JSON.stringify(problem) };
}

/** Options of the bindings' context-error answers (every adapter takes them). */
export interface ContextErrorOptions {
  /**
   * The status answered when the request failed with a `CanceledError` that is not the client
   * leaving — a `scope.cancel()`, or `options.parent` ended (e.g. a server shutting down).
   * Default 503. Any status from 400 to 599.
   */
  canceledStatus?: number;
}

/** Status recorded (never sent) for a request whose client left first, as nginx logs it. */
export const CLIENT_GONE_STATUS = 499;

/** How a failed request is answered. */
export type ContextErrorAnswer =
  /** The client left: send nothing, log nothing as an error; the status is recorded as 499. */
  | { reason: 'client-gone'; status: 499 }
  /** The request's deadline passed (504) or its context was cancelled (`canceledStatus`). */
  | { reason: 'deadline' | 'canceled'; status: number; problem: Problem }
  /** Not a context error: the framework's own error path answers it. */
  | undefined;

const DEADLINE_PROBLEM: Problem = Object.freeze({
  type: 'about:blank',
  title: 'Gateway Timeout',
  status: 504,
  detail: "the request's deadline passed before the response was ready",
});

/** The standard reason phrases of the statuses `canceledStatus` may take that are commonly used. */
const TITLES: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  409: 'Conflict',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** @internal Validates `canceledStatus`; throws `TypeError` naming `fn`. */
export function resolveCanceledStatus(o: ContextErrorOptions | undefined, fn: string): number {
  const s = o?.canceledStatus;
  if (s === undefined) return 503;
  if (typeof s !== 'number' || !Number.isInteger(s) || s < 400 || s > 599) {
    throw new TypeError(`${fn}: options.canceledStatus must be an integer status from 400 to 599, got ${String(s)}`);
  }
  return s;
}

/**
 * True when the client is gone: the request context ended because the client left, or the
 * connection closed under a response that had not ended (an error raised by the disconnect — a
 * body read failing with `aborted`, a parse error on the truncated upload — may arrive before
 * the response's 'close' has ended the context).
 */
export function clientGone(ctx: Context | undefined, res: NodeResponseLike | undefined): boolean {
  if (ctx !== undefined && cause(ctx) instanceof ClientDisconnectedError) return true;
  if (res === undefined || res.writableEnded === true) return false;
  if (res.destroyed === true) return true;
  const s = res.socket ?? res.req?.socket;
  return s != null && s.destroyed === true;
}

/** The fields of a node:http `ServerResponse` `clientGone` reads. */
export interface NodeResponseLike {
  writableEnded?: boolean;
  destroyed?: boolean;
  socket?: { destroyed?: boolean } | null;
  req?: { socket?: { destroyed?: boolean } | null };
}

/**
 * What a request that failed with `error` is answered, given its context `ctx` (undefined when
 * no binding ran) and its node:http response `res` (undefined off Node):
 * 1. the client is gone (`clientGone`) — whatever the error: nothing sent, status recorded 499;
 * 2. `error` is a `DeadlineExceededError`, or `ctx` ended by its deadline (the error is then
 *    taken to be its consequence) — 504;
 * 3. `error` is a `CanceledError`, or `ctx` was cancelled (not by its response finishing) —
 *    `canceledStatus` (default 503);
 * 4. anything else — `undefined`: not a context error, the framework's own error path answers.
 */
export function answerContextError(
  error: unknown,
  ctx: Context | undefined,
  res: NodeResponseLike | undefined,
  canceledStatus: number,
): ContextErrorAnswer {
  if (clientGone(ctx, res)) return { reason: 'client-gone', status: CLIENT_GONE_STATUS };
  const ended = ctx?.err;
  if (isDeadlineExceeded(error) || isDeadlineExceeded(ended)) {
    return { reason: 'deadline', status: 504, problem: DEADLINE_PROBLEM };
  }
  if (isCanceled(error) || (ended !== undefined && !(cause(ctx!) instanceof ResponseFinishedError))) {
    return {
      reason: 'canceled',
      status: canceledStatus,
      problem: {
        type: 'about:blank',
        title: TITLES[canceledStatus] ?? 'Canceled',
        status: canceledStatus,
        detail: "the request's context was canceled",
      },
    };
  }
  return undefined;
}
