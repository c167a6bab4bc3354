/**
 * The propagation codec: what crosses a service boundary with a request, for any transport that
 * has string headers (HTTP, gRPC metadata, AMQP/NATS/Kafka message headers).
 *
 * - `inject(ctx, headers)` writes the remaining budget (minus a safety margin) in
 *   `ctxkit-timeout-ms` (and optionally `grpc-timeout`), the trace context, and allowlisted
 *   baggage.
 * - `extract(headers, parent)` reads them back into a new cancellable child of `parent` whose
 *   deadline is the smallest of the inbound budgets and the server's own limits.
 */
import { remaining, withCancel, withTimeout, type CancelScope, type Context } from '@ctxkit/core';
import {
  ENVOY_TIMEOUT_HEADER,
  formatGrpcTimeout,
  GRPC_TIMEOUT_HEADER,
  inboundBudget,
  resolveBudgetOptions,
  TIMEOUT_HEADER,
  type BudgetOptions,
  type ResolvedBudget,
} from './budget.js';
import { allowSet, getBaggage, parseBaggage, serializeBaggage, withBaggageUnchecked } from './baggage.js';
import { checkHeaders, readAs, singleValue, carrierShape, writeHeader, type HeaderSink, type HeaderSource } from './headers.js';
import { getTraceContext, isValidTraceparent, isValidTracestate, withTraceUnchecked } from './trace.js';

/** Options of `extract` (and of every server binding, which calls it). */
export interface ExtractOptions extends BudgetOptions {
  /**
   * Baggage names accepted from the wire (an allowlist; default none). Accepted members become
   * `getBaggage(ctx)` entries.
   */
  baggage?: readonly string[];
}

/** Options of `inject` (and of `ctxFetch`). */
export interface InjectOptions {
  /**
   * Safety margin subtracted from the remaining budget before it is sent, milliseconds (the time
   * the request spends on the wire and in the receiver's framing). Default 5.
   */
  marginMs?: number;
  /** Also write `grpc-timeout` (for gRPC servers and proxies that read it). Default false. */
  grpcTimeout?: boolean;
  /** Baggage names sent (an allowlist; default none): taken from `getBaggage(ctx)`. */
  baggage?: readonly string[];
}

/** @internal `ExtractOptions` after validation by `resolveExtract`: budget limits plus the baggage allowlist. */
export interface ResolvedExtract extends ResolvedBudget {
  baggage: ReadonlySet<string>;
}

/** @internal `InjectOptions` after validation by `resolveInject`. */
export interface ResolvedInject {
  marginMs: number;
  grpcTimeout: boolean;
  baggage: ReadonlySet<string>;
}

/** Default safety margin of `inject`, milliseconds. */
export const DEFAULT_MARGIN_MS = 5;

const extractCache = new WeakMap<object, ResolvedExtract>();
const injectCache = new WeakMap<object, ResolvedInject>();
const DEFAULT_EXTRACT: ResolvedExtract = { ...resolveBudgetOptions(undefined, 'extract'), baggage: new Set() };
const DEFAULT_INJECT: ResolvedInject = { marginMs: DEFAULT_MARGIN_MS, grpcTimeout: false, baggage: new Set() };

/**
 * Validates extract options (throws `TypeError` naming the bad option). Options objects are read
 * once and cached: mutate a copy, not the object in use. @internal
 */
export function resolveExtract(o: ExtractOptions | undefined, fn: string): ResolvedExtract {
  if (o === undefined) return DEFAULT_EXTRACT;
  let r = typeof o === 'object' && o !== null ? extractCache.get(o) : undefined;
  if (r === undefined) {
    r = { ...resolveBudgetOptions(o, fn), baggage: allowSet(o.baggage, fn) };
    extractCache.set(o, r);
  }
  return r;
}

/** Validates inject options (throws `TypeError`); cached like `resolveExtract`. @internal */
export function resolveInject(o: InjectOptions | undefined, fn: string): ResolvedInject {
  if (o === undefined) return DEFAULT_INJECT;
  if (o === null || typeof o !== 'object') throw new TypeError(`${fn}: options must be an object`);
  let r = injectCache.get(o);
  if (r === undefined) {
    r = {
      marginMs: checkMarginMs(o.marginMs ?? DEFAULT_MARGIN_MS, fn),
      grpcTimeout: o.grpcTimeout === true,
      baggage: allowSet(o.baggage, fn),
    };
    injectCache.set(o, r);
  }
  return r;
}

/**
 * Inject options `own` over already resolved ones `base`: only the options `own` sets (not
 * `undefined` nor `null`) are validated, the others are taken from `base` as they are. Throws
 * `TypeError` as `resolveInject` does. Not cached (per-call options are usually fresh objects).
 * @internal
 */
export function resolveInjectOver(base: ResolvedInject, own: InjectOptions, fn: string): ResolvedInject {
  return {
    marginMs: own.marginMs == null ? base.marginMs : checkMarginMs(own.marginMs, fn),
    grpcTimeout: own.grpcTimeout == null ? base.grpcTimeout : own.grpcTimeout === true,
    baggage: own.baggage == null ? base.baggage : allowSet(own.baggage, fn),
  };
}

/** `m` when it is a valid `marginMs`, else throws `TypeError` (naming `fn`). */
function checkMarginMs(m: unknown, fn: string): number {
  if (typeof m !== 'number' || !Number.isFinite(m) || m < 0) {
    throw new TypeError(`${fn}: options.marginMs must be a finite non-negative number, got ${String(m)}`);
  }
  return m;
}

/**
 * Writes `ctx`'s propagation headers into `headers` and returns `headers`:
 * - `ctxkit-timeout-ms`: the remaining budget minus `marginMs`, floored, never below 0 (only when
 *   `ctx` has a deadline); with `grpcTimeout: true` also `grpc-timeout`;
 * - `traceparent`/`tracestate` when `ctx` carries a trace context;
 * - `baggage`: the members of `getBaggage(ctx)` named in the `baggage` allowlist, within the W3C
 *   limits (180 members, 8192 bytes).
 * Existing values of those headers are overwritten. Throws `TypeError` for bad arguments only.
 */
export function inject<H extends HeaderSink>(ctx: Context, headers: H, options?: InjectOptions): H {
  checkHeaders(headers, 'inject', 'sink');
  injectResolved(ctx, headers, resolveInject(options, 'inject'));
  return headers;
}

/**
 * @internal `inject` with options already resolved by `resolveInject`: writes the budget, trace
 * and baggage headers of `ctx` into `headers`; writes nothing for a context without them. With
 * `keepTrace` (the caller already set `traceparent` or `tracestate`: `ctxFetch`), the trace
 * headers are left as the caller set them — the pair is the caller's, never a mix.
 */
export function injectResolved(ctx: Context, headers: HeaderSink, o: ResolvedInject, keepTrace = false): void {
  const rem = remaining(ctx);
  if (rem !== Infinity) {
    const budget = Math.max(0, rem - o.marginMs);
    writeHeader(headers, TIMEOUT_HEADER, String(Math.floor(budget)));
    if (o.grpcTimeout) writeHeader(headers, GRPC_TIMEOUT_HEADER, formatGrpcTimeout(budget));
  }
  const trace = keepTrace ? undefined : getTraceContext(ctx);
  if (trace !== undefined) {
    writeHeader(headers, 'traceparent', trace.traceparent);
    if (trace.tracestate !== undefined) writeHeader(headers, 'tracestate', trace.tracestate);
  }
  if (o.baggage.size > 0) {
    const b = serializeBaggage(getBaggage(ctx), o.baggage);
    if (b !== undefined) writeHeader(headers, 'baggage', b);
  }
}

/**
 * Reads propagation headers from `headers` and returns a new cancellable child of `parent` (the
 * caller owns it and must `cancel()` it when the work is done):
 * - its deadline is the smallest of the inbound budgets (`ctxkit-timeout-ms`, `grpc-timeout`,
 *   `x-envoy-expected-rq-timeout-ms`), `timeoutMs` and `maxTimeoutMs`; none of them, no
 *   deadline (an exhausted budget gives a context that has already ended with
 *   `DeadlineExceededError`);
 * - a valid `traceparent` (and its `tracestate`) becomes `getTraceContext(ctx)`; invalid trace
 *   headers are ignored, as W3C requires;
 * - allowlisted `baggage` members become `getBaggage(ctx)`.
 * A malformed budget header throws `InvalidHeaderError` (status 400, message naming the header)
 * unless `invalid: 'ignore'`. With `inbound: false` only the local limits apply.
 */
export function extract(headers: HeaderSource, parent: Context, options?: ExtractOptions): CancelScope {
  checkHeaders(headers, 'extract', 'source');
  return extractResolved(headers, parent, resolveExtract(options, 'extract'));
}

/**
 * @internal True when a Node header record (`req.headers`) holds any header `extractResolved`
 * would read with options `o` — otherwise the local limits alone decide the budget. Plain
 * property reads of constant names: this runs once per request.
 */
export function hasPropagationHeaders(h: Readonly<Record<string, unknown>>, o: ResolvedExtract): boolean {
  return (
    o.inbound &&
    (h[TIMEOUT_HEADER] !== undefined ||
      h[GRPC_TIMEOUT_HEADER] !== undefined ||
      h[ENVOY_TIMEOUT_HEADER] !== undefined ||
      h.traceparent !== undefined ||
      (o.baggage.size > 0 && h.baggage !== undefined))
  );
}

/**
 * @internal `extract` with options already resolved by `resolveExtract` and the source's
 * `carrierShape` (computed when not given); returns the new scope, which the caller owns. Throws
 * `InvalidHeaderError` for a malformed budget header unless `o` says to ignore it.
 */
export function extractResolved(
  headers: HeaderSource,
  parent: Context,
  o: ResolvedExtract,
  shape: number = carrierShape(headers),
): CancelScope {
  const budget = inboundBudget(headers, o, shape);
  let ctx = parent;
  if (o.inbound) {
    const tp = singleValue(readAs(headers, shape, 'traceparent'));
    if (typeof tp === 'string' && isValidTraceparent(tp)) {
      const ts = singleValue(readAs(headers, shape, 'tracestate'));
      ctx = withTraceUnchecked(
        ctx,
        typeof ts === 'string' && isValidTracestate(ts) ? { traceparent: tp, tracestate: ts } : { traceparent: tp },
      );
    }
    if (o.baggage.size > 0) {
      const raw = readAs(headers, shape, 'baggage');
      const text = Array.isArray(raw) ? raw.filter((x) => typeof x === 'string').join(',') : singleValue(raw);
      if (typeof text === 'string') {
        const got = parseBaggage(text, o.baggage);
        if (got !== undefined) {
          const base = getBaggage(ctx);
          ctx = withBaggageUnchecked(ctx, base.size === 0 ? got : new Map([...base, ...got]));
        }
      }
    }
  }
  return budget === Infinity ? withCancel(ctx) : withTimeout(ctx, budget);
}
