/**
 * `ctxFetch`: the platform `fetch`, bound to a context from the first byte to the last.
 */
import {
  assertContext,
  fromSignal,
  operation,
  withCancel,
  type CancelScope,
  type Context,
  type OperationSettle,
  type OperationTeardown,
} from '@ctxkit/core';
import { injectResolved, resolveInject, resolveInjectOver, type InjectOptions, type ResolvedInject } from './codec.js';

/** The `fetch` signature ctxFetch calls (the global one by default). */
export type FetchFunction = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** `RequestInit` plus the propagation options of `inject` and an optional `fetch` implementation. */
export interface CtxFetchInit extends RequestInit, InjectOptions {
  /** The fetch implementation to call. Default `globalThis.fetch`. */
  fetch?: FetchFunction;
}

/** Statuses `new Response` refuses a body for. */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/** State of one call, shared by the body wrapper, the abort listener and the finalizer. */
interface Call {
  settled: boolean;
  ctx: Context;
  scope: CancelScope;
  /** Settles the call's `operation`: once the body is finished, or the request failed. */
  op: OperationSettle<void>;
  userSignal: AbortSignal | undefined;
  reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  /** Weak, so the context never keeps an abandoned body (and its connection) reachable. */
  controller: WeakRef<ReadableStreamDefaultController<Uint8Array>> | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * An abandoned body (its Response dropped without reading or cancelling it) is released when it
 * is garbage collected: the request is aborted (the connection closes, the far side sees it),
 * the context's link removed, the operation reported settled.
 */
const finalizer = new FinalizationRegistry<Call>((call) => {
  if (call.settled) return;
  call.reader?.cancel().catch(noop);
  settle(call, undefined, true);
});

function noop(): void {}

/** Ends the call once: settles its operation, which then runs `release` (below) and reports it. */
function settle(call: Call, error: unknown, failed: boolean): void {
  if (call.settled) return;
  call.settled = true;
  if (failed) call.op.reject(error);
  else call.op.resolve();
}

/** The operation's `release`: removes the listener and the link on ctx, forgets the finalizer. */
function release(call: Call): void {
  call.settled = true;
  if (call.onAbort !== undefined) call.scope.ctx.signal.removeEventListener('abort', call.onAbort);
  call.onAbort = undefined;
  finalizer.unregister(call);
  call.scope.cancel();
}

/**
 * The operation's `cancel`: `ctx` ended before the body was finished. Cancels the body (the
 * request is aborted when `release` cancels the scope) and errors the wrapped stream with `err`;
 * before the response, the aborted fetch rejects the Response promise with `ctx.err`.
 */
function cancelCall(call: Call, err: unknown): void {
  if (call.settled) return;
  call.settled = true;
  call.reader?.cancel(err).catch(noop);
  const c = call.controller?.deref();
  if (c !== undefined) {
    try {
      c.error(err);
    } catch {
      // already closed or errored
    }
  }
}

/** What a failure means to the caller: ctx.err when ctx ended, the caller's own abort reason, else the error itself. */
function mapError(call: Call, e: unknown): unknown {
  const err = call.ctx.err;
  if (err !== undefined) return err;
  const us = call.userSignal;
  if (us?.aborted) return us.reason;
  return e;
}

/**
 * The operation label's target: origin and path only — query strings and credentials often carry
 * secrets, and labels go to every hook subscriber (inspector, logs, traces).
 */
function describeInput(input: unknown): string {
  const raw =
    typeof input === 'string'
      ? input
      : input instanceof URL
        ? input.href
        : typeof Request !== 'undefined' && input instanceof Request
          ? input.url
          : String(input);
  const cut = raw.search(/[?#]/);
  const noQuery = cut < 0 ? raw : raw.slice(0, cut);
  return noQuery.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}

/**
 * `fetch(input, init)` bound to `ctx`:
 * - fails fast with `ctx.err`, without touching the network, when `ctx` has already ended;
 * - sends `ctx`'s remaining budget minus `marginMs` (`ctxkit-timeout-ms`, optionally
 *   `grpc-timeout`; always ctxkit's, replacing any the caller set), its trace context and
 *   allowlisted baggage (see `inject`) — except that a `traceparent` or `tracestate` the caller
 *   set (in `init.headers` or the `Request`) wins: then both trace headers are sent as the caller
 *   set them, and neither from `ctx`. The trace context is passed through as `ctx` carries it
 *   (received by `extract`, or set with `withTraceContext`, e.g. by an OpenTelemetry bridge that
 *   starts a client span); ctxkit itself never makes up a span id;
 * - rejects with `ctx.err` when `ctx` ends before the response arrives, and makes every body read
 *   (`res.json()`, `res.text()`, `res.body` streaming) reject with `ctx.err` when `ctx` ends
 *   before the body has been read to the end — the request is aborted, so the server sees its
 *   client leave;
 * - honours the caller's own `init.signal` (rejecting with its reason, as fetch does) without
 *   `AbortSignal.any`;
 * - runs as one `operation` of @ctxkit/core, reported to its hooks until the body is read, cancelled or
 *   abandoned.
 * Rules of use: read the body to the end or cancel it (`await res.body?.cancel()`). A body that
 * is dropped unread stays linked to `ctx` (holding its connection) until `ctx` ends or the
 * response is garbage collected, whichever comes first. Other errors (network, DNS) reject as
 * fetch would. Throws `TypeError` synchronously only for a non-context `ctx` or bad options.
 */
export function ctxFetch(ctx: Context, input: string | URL | Request, init?: CtxFetchInit): Promise<Response> {
  assertContext(ctx, 'ctxFetch: ctx');
  const o = resolveInject(init === undefined ? undefined : pickInject(init), 'ctxFetch');
  return fetchResolved(ctx, input, init, o, init?.fetch);
}

function pickInject(init: CtxFetchInit): InjectOptions | undefined {
  if (init.marginMs === undefined && init.grpcTimeout === undefined && init.baggage === undefined) return undefined;
  return init;
}

/**
 * The call's teardown, made outside `fetchResolved` so that what ctx keeps reachable (the
 * operation's teardown) closes over the call only, never over the Response promise: an abandoned
 * body must stay collectable.
 */
function teardownOf(call: Call): OperationTeardown {
  return { cancel: (err) => cancelCall(call, err), release: () => release(call) };
}

function fetchResolved(
  ctx: Context,
  input: string | URL | Request,
  init: CtxFetchInit | undefined,
  o: ResolvedInject,
  fetchFn: FetchFunction | undefined,
): Promise<Response> {
  const isRequest = typeof Request !== 'undefined' && input instanceof Request;
  const method = init?.method ?? (isRequest ? input.method : 'GET');
  // One operation spans the request and its body: it settles when the body is finished (read to
  // the end, cancelled, errored or abandoned), so it may settle after the Response promise does.
  let resolveRes!: (res: Response) => void;
  let rejectRes!: (e: unknown) => void;
  const response = new Promise<Response>((resolve, reject) => {
    resolveRes = resolve;
    rejectRes = reject;
  });
  let started = false;
  const done = operation<void>(ctx, `fetch ${method.toUpperCase()} ${describeInput(input)}`, (op) => {
    started = true;
    const f = fetchFn ?? globalThis.fetch;
    if (typeof f !== 'function') {
      const e = new TypeError('ctxFetch: no fetch implementation (pass init.fetch)');
      op.reject(e);
      rejectRes(e);
      return undefined;
    }
    const userSignal = init?.signal ?? (isRequest ? input.signal : undefined) ?? undefined;
    let scope: CancelScope;
    let headers: Headers;
    try {
      scope = userSignal != null ? fromSignal(ctx, userSignal) : withCancel(ctx);
    } catch (e) {
      op.reject(e);
      rejectRes(e);
      return undefined;
    }
    const call: Call = {
      settled: false,
      ctx,
      scope,
      op,
      userSignal: userSignal ?? undefined,
      reader: undefined,
      controller: undefined,
      onAbort: undefined,
    };
    const teardown = teardownOf(call);
    try {
      headers = new Headers(init?.headers ?? (isRequest ? input.headers : undefined));
    } catch (e) {
      settle(call, e, true);
      rejectRes(e);
      return teardown;
    }
    if (scope.ctx.err !== undefined) {
      const e = mapError(call, scope.ctx.err);
      settle(call, e, true);
      rejectRes(e);
      return teardown;
    }
    // A trace context the caller set (in init.headers or the Request) is the caller's decision:
    // it wins over the one ctx carries.
    injectResolved(ctx, headers, o, headers.has('traceparent') || headers.has('tracestate'));
    const req: RequestInit = { ...init, headers, signal: scope.ctx.signal };
    delete (req as CtxFetchInit).fetch;
    delete (req as CtxFetchInit).marginMs;
    delete (req as CtxFetchInit).grpcTimeout;
    delete (req as CtxFetchInit).baggage;
    let p: Promise<Response>;
    try {
      p = f(input, req);
    } catch (e) {
      settle(call, e, true);
      rejectRes(e);
      return teardown;
    }
    Promise.resolve(p).then(
      (res) => {
        try {
          resolveRes(wrapResponse(call, res));
        } catch (e) {
          rejectRes(e);
        }
      },
      (e: unknown) => {
        const m = mapError(call, e);
        settle(call, m, true);
        rejectRes(m);
      },
    );
    return teardown;
  });
  // The caller sees the outcome through the Response promise and the body; this one only reports.
  done.catch(noop);
  // Failed fast (ctx had ended, the executor never ran): `done` rejects with ctx.err.
  if (!started) return done as unknown as Promise<Response>;
  return response;
}

function wrapResponse(call: Call, res: Response): Response {
  const body = res.body;
  if (body === null || NULL_BODY.has(res.status) || res.status < 200 || res.status > 599) {
    if (body !== null) body.cancel().catch(noop);
    settle(call, undefined, false);
    return res;
  }
  const ended = call.ctx.err ?? call.scope.ctx.err;
  if (ended !== undefined) {
    const e = mapError(call, ended);
    body.cancel(e).catch(noop);
    settle(call, e, true);
    throw e;
  }
  const reader = body.getReader();
  call.reader = reader;
  const out = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        call.controller = new WeakRef(controller);
      },
      async pull(controller) {
        if (call.settled) return;
        const ended = call.scope.ctx.err;
        if (ended !== undefined) {
          const e = mapError(call, ended);
          reader.cancel(e).catch(noop);
          settle(call, e, true);
          controller.error(e);
          return;
        }
        let r: ReadableStreamReadResult<Uint8Array>;
        try {
          r = await reader.read();
        } catch (e0) {
          const e = mapError(call, e0);
          const first = !call.settled;
          settle(call, e, true);
          if (first) controller.error(e);
          return;
        }
        if (call.settled) return; // errored by the abort listener meanwhile
        if (r.done) {
          settle(call, undefined, false);
          controller.close();
        } else {
          controller.enqueue(r.value);
        }
      },
      cancel(reason) {
        if (call.settled) return undefined;
        const p = reader.cancel(reason);
        settle(call, undefined, false);
        return p.then(noop, noop);
      },
    },
    { highWaterMark: 0 },
  );
  // When ctx (or the caller's signal) ends while nobody is reading, settle at once: reads reject
  // with ctx.err from then on, and the operation is reported ended.
  const onAbort = (): void => {
    if (call.settled) return;
    const e = mapError(call, call.scope.ctx.err);
    reader.cancel(e).catch(noop);
    const c = call.controller?.deref();
    settle(call, e, true);
    if (c !== undefined) {
      try {
        c.error(e);
      } catch {
        // already closed or errored
      }
    }
  };
  call.onAbort = onAbort;
  call.scope.ctx.signal.addEventListener('abort', onAbort, { once: true });
  finalizer.register(out, call, call);
  const wrapped = new Response(out, { status: res.status, statusText: res.statusText, headers: res.headers });
  Object.defineProperties(wrapped, {
    url: { value: res.url, enumerable: true },
    redirected: { value: res.redirected, enumerable: true },
    type: { value: res.type, enumerable: true },
  });
  return wrapped;
}

/**
 * A `ctxFetch` with default options (`marginMs`, `grpcTimeout`, `baggage`, `fetch`), e.g. one per
 * downstream service. Options given per call override the defaults.
 */
export function createFetch(
  defaults: CtxFetchInit,
): (ctx: Context, input: string | URL | Request, init?: CtxFetchInit) => Promise<Response> {
  if (defaults === null || typeof defaults !== 'object') throw new TypeError('createFetch: defaults must be an object');
  const base = resolveInject(pickInject(defaults), 'createFetch');
  const baseFetch = defaults.fetch;
  const { fetch: _f, marginMs: _m, grpcTimeout: _g, baggage: _b, ...baseInit } = defaults;
  return (ctx, input, init) => {
    assertContext(ctx, 'ctxFetch: ctx');
    const own = init === undefined ? undefined : pickInject(init);
    const o = own === undefined ? base : resolveInjectOver(base, own, 'ctxFetch');
    const merged: CtxFetchInit = init === undefined ? baseInit : { ...baseInit, ...init };
    return fetchResolved(ctx, input, merged, o, init?.fetch ?? baseFetch);
  };
}
