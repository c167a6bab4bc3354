/**
 * W3C Trace Context (`traceparent`, `tracestate`) carried as a context value, so a request's
 * trace identity flows from `extract` to every `inject`/`ctxFetch` made under it. ctxkit only
 * passes it through (validated); making spans is the OpenTelemetry package's job.
 */
import { createKey, withValue, type Context } from '@ctxkit/core';

/** The trace identity of a request, as received (`extract`) or set (`withTraceContext`). */
export interface TraceContext {
  /** A valid W3C `traceparent`, lower case. */
  readonly traceparent: string;
  /** The accompanying `tracestate` (at most 512 characters), when any. */
  readonly tracestate?: string | undefined;
}

const traceKey = createKey<TraceContext>('@ctxkit/http trace context');

const HEX = /^[0-9a-f]+$/;

/**
 * True for a valid W3C `traceparent`: `vv-<32 hex trace id>-<16 hex parent id>-ff`, version not
 * `ff`, ids not all zeros; version `00` exactly 55 characters, later versions may append
 * `-…` fields (at most 256 characters in all).
 */
export function isValidTraceparent(v: string): boolean {
  if (typeof v !== 'string' || v.length < 55 || v.length > 256) return false;
  if (v[2] !== '-' || v[35] !== '-' || v[52] !== '-') return false;
  const version = v.slice(0, 2);
  const traceId = v.slice(3, 35);
  const parentId = v.slice(36, 52);
  const flags = v.slice(53, 55);
  if (!HEX.test(version) || version === 'ff' || !HEX.test(traceId) || !HEX.test(parentId) || !HEX.test(flags)) return false;
  if (/^0+$/.test(traceId) || /^0+$/.test(parentId)) return false;
  if (version === '00') return v.length === 55;
  return v.length === 55 || v[55] === '-';
}

/** True for a `tracestate` ctxkit passes on: 1–512 printable ASCII characters. */
export function isValidTracestate(v: string): boolean {
  if (typeof v !== 'string' || v.length === 0 || v.length > 512) return false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/**
 * A child of `parent` carrying `trace` (ends when `parent` ends; no scope to cancel). Throws
 * `TypeError` when `trace.traceparent` is not a valid W3C traceparent; an invalid `tracestate`
 * is dropped.
 */
export function withTraceContext(parent: Context, trace: TraceContext): Context {
  if (trace === null || typeof trace !== 'object' || !isValidTraceparent(trace.traceparent)) {
    throw new TypeError('withTraceContext: trace.traceparent must be a valid W3C traceparent (e.g. 00-<32 hex>-<16 hex>-01)');
  }
  const ts = trace.tracestate;
  return withValue(
    parent,
    traceKey,
    ts !== undefined && isValidTracestate(ts) ? { traceparent: trace.traceparent, tracestate: ts } : { traceparent: trace.traceparent },
  );
}

/** The trace context `ctx` carries (from `extract` or `withTraceContext`), or undefined. */
export function getTraceContext(ctx: Context): TraceContext | undefined {
  return ctx.value(traceKey);
}

/** @internal Used by extract, which has already validated. */
export function withTraceUnchecked(parent: Context, trace: TraceContext): Context {
  return withValue(parent, traceKey, trace);
}
