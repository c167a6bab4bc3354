/**
 * The deadline part of the wire protocol: relative budgets in headers, parsed as untrusted input.
 *
 * Inbound, three headers are understood (the smallest wins):
 * - `ctxkit-timeout-ms`: ctxkit's own, 1–10 ASCII digits, milliseconds left (0 = already expired);
 * - `grpc-timeout`: 1–8 digits and a unit, `H` `M` `S` `m` `u` `n` (hours … nanoseconds);
 * - `x-envoy-expected-rq-timeout-ms`: 1–10 digits, milliseconds (0 means "no timeout", as Envoy
 *   uses it for a disabled route timeout).
 * Budgets are relative, so clock skew between hosts does not matter. Every budget is clamped to
 * `MAX_BUDGET_MS` (the largest delay a Node timer accepts) and to the server's `maxTimeoutMs`.
 */
import { InvalidHeaderError } from './errors.js';
import { MAX_BUDGET_MS } from '@ctxkit/core';
import { readAs, singleValue, carrierShape, trimOws, type HeaderSource } from './headers.js';

/** ctxkit's own budget header: milliseconds the receiver has left, as 1–10 ASCII digits. */
export const TIMEOUT_HEADER = 'ctxkit-timeout-ms';
/** gRPC's budget header, read inbound and (with `grpcTimeout: true`) written outbound. */
export const GRPC_TIMEOUT_HEADER = 'grpc-timeout';
/** Envoy's budget header, read inbound only. */
export const ENVOY_TIMEOUT_HEADER = 'x-envoy-expected-rq-timeout-ms';
/** The largest budget ever applied: core's `MAX_BUDGET_MS` (2^31−1 ms, ~24.8 days), re-exported. */
export { MAX_BUDGET_MS };

/** Longest header value inspected; anything longer is malformed without being scanned. */
const MAX_LEN = 32;

const GRPC_UNITS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/** True when `s` is 1..max ASCII digits. */
function isDigits(s: string, max: number): boolean {
  if (s.length === 0 || s.length > max) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function show(v: string): string {
  return v.length > 64 ? v.slice(0, 64) + '…' : v;
}

/** Parses a `grpc-timeout` value to milliseconds; undefined when malformed. */
export function parseGrpcTimeout(value: string): number | undefined {
  const v = trimOws(value);
  if (v.length < 2 || v.length > 9) return undefined;
  const unit = GRPC_UNITS[v[v.length - 1]!];
  const digits = v.slice(0, -1);
  if (unit === undefined || !isDigits(digits, 8)) return undefined;
  return Number(digits) * unit;
}

/**
 * Formats `ms` as a `grpc-timeout` value (at most 8 digits, the finest unit that fits, rounded
 * down so the receiver never gets more than it has). `ms` is clamped to [0, MAX_BUDGET_MS].
 */
export function formatGrpcTimeout(ms: number): string {
  const m = Math.min(Math.max(0, ms), MAX_BUDGET_MS);
  if (m < 1e5) return `${Math.floor(m * 1000)}u`; // < 100 s: microseconds, ≤ 8 digits
  if (m < 1e8) return `${Math.floor(m)}m`;
  return `${Math.floor(m / 1000)}S`;
}

/** Parses a decimal-milliseconds budget (ctxkit's or Envoy's); undefined when malformed. */
export function parseMillis(value: string): number | undefined {
  const v = trimOws(value);
  return isDigits(v, 10) ? Number(v) : undefined;
}

/** Options that decide a request's effective deadline. */
export interface BudgetOptions {
  /**
   * The handler budget, milliseconds: this handler gets at most this long whatever the caller
   * says. Non-negative number; `Infinity`/undefined for none.
   */
  timeoutMs?: number;
  /**
   * The server-wide ceiling, milliseconds: no request, whatever its inbound budget or handler
   * budget, gets more than this. Non-negative number; `Infinity`/undefined for none (budgets are
   * still capped at `MAX_BUDGET_MS`). The effective deadline is the smallest of the inbound
   * budgets, `timeoutMs` and `maxTimeoutMs`; with none of them, there is no deadline.
   */
  maxTimeoutMs?: number;
  /**
   * What a malformed budget header does: `'reject'` (default) makes `extract` throw
   * `InvalidHeaderError` and the server bindings answer 400; `'ignore'` disregards that header.
   */
  invalid?: 'reject' | 'ignore';
  /**
   * `false` ignores every inbound propagation header (budgets, trace context, baggage): for
   * servers facing untrusted clients directly. Default `true`.
   */
  inbound?: boolean;
}

function checkMs(v: unknown, name: string): number {
  if (v === undefined) return Infinity;
  if (typeof v !== 'number' || Number.isNaN(v) || v < 0) {
    throw new TypeError(`${name} must be a non-negative number of milliseconds (or Infinity), got ${typeof v === 'number' ? v : typeof v}`);
  }
  return v;
}

/** @internal Validated numeric options. */
export interface ResolvedBudget {
  timeoutMs: number;
  maxTimeoutMs: number;
  reject: boolean;
  inbound: boolean;
}

/** Validates budget options once (adapters do it at setup, not per request). @internal */
export function resolveBudgetOptions(o: BudgetOptions | undefined, fn: string): ResolvedBudget {
  if (o !== undefined && (o === null || typeof o !== 'object')) throw new TypeError(`${fn}: options must be an object`);
  const invalid = o?.invalid ?? 'reject';
  if (invalid !== 'reject' && invalid !== 'ignore') {
    throw new TypeError(`${fn}: options.invalid must be 'reject' or 'ignore', got ${String(invalid)}`);
  }
  return {
    timeoutMs: checkMs(o?.timeoutMs, `${fn}: options.timeoutMs`),
    maxTimeoutMs: checkMs(o?.maxTimeoutMs, `${fn}: options.maxTimeoutMs`),
    reject: invalid === 'reject',
    inbound: o?.inbound !== false,
  };
}

function one(raw: unknown, name: string, reject: boolean, parse: (v: string) => number | undefined, expected: string): number | undefined {
  const v = singleValue(raw);
  if (v === undefined) return undefined; // absent (undefined, null, an empty list)
  const ms = v === null || v.length > MAX_LEN ? undefined : parse(v);
  if (ms === undefined) {
    if (reject) {
      throw new InvalidHeaderError(name, show(v === null ? String(raw) : v), v === null ? `a single value (${expected})` : expected);
    }
    return undefined;
  }
  return ms;
}

/**
 * The effective budget (milliseconds): the smallest of the inbound budgets in `src`, `timeoutMs`
 * and `maxTimeoutMs`, never above `MAX_BUDGET_MS`; `Infinity` when there is none of them. Throws `InvalidHeaderError` for a malformed
 * value unless `invalid: 'ignore'`. Never returns NaN or a negative number. @internal
 */
export function inboundBudget(src: HeaderSource, o: ResolvedBudget, shape: number = carrierShape(src)): number {
  let budget = Infinity;
  if (o.inbound) {
    // Most requests carry none of the three: each absent header costs one read and one compare.
    const rawOwn = readAs(src, shape, TIMEOUT_HEADER);
    const rawGrpc = readAs(src, shape, GRPC_TIMEOUT_HEADER);
    const rawEnvoy = readAs(src, shape, ENVOY_TIMEOUT_HEADER);
    if (rawOwn != null) {
      const own = one(rawOwn, TIMEOUT_HEADER, o.reject, parseMillis, '1–10 digits (milliseconds)');
      if (own !== undefined) budget = own;
    }
    if (rawGrpc != null) {
      const grpc = one(rawGrpc, GRPC_TIMEOUT_HEADER, o.reject, parseGrpcTimeout, '1–8 digits followed by one unit of H M S m u n');
      if (grpc !== undefined && grpc < budget) budget = grpc;
    }
    if (rawEnvoy != null) {
      const envoy = one(rawEnvoy, ENVOY_TIMEOUT_HEADER, o.reject, parseMillis, '1–10 digits (milliseconds)');
      if (envoy !== undefined && envoy > 0 && envoy < budget) budget = envoy;
    }
  }
  if (budget > o.timeoutMs) budget = o.timeoutMs;
  if (budget > o.maxTimeoutMs) budget = o.maxTimeoutMs;
  return budget !== Infinity && budget > MAX_BUDGET_MS ? MAX_BUDGET_MS : budget;
}
