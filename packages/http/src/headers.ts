/**
 * Transport-neutral header access, so the same codec reads and writes HTTP headers (Node's
 * `req.headers`, fetch `Headers`), gRPC metadata and message headers (AMQP, NATS, Kafka).
 */

/** A value as transports hand it over: a string, several strings, bytes, or nothing. */
export type HeaderValue = string | readonly string[] | Uint8Array | number | null | undefined;

/**
 * Where `extract` reads from. One of:
 * - a plain record with lower-case keys (Node's `req.headers`, message headers written by
 *   `inject`): looked up by the lower-case name;
 * - any object with `get(name)` (fetch `Headers`, gRPC `Metadata`, a `Map`);
 * - a function `(name) => value`.
 */
export type HeaderSource =
  | { get(name: string): unknown }
  | ((name: string) => unknown)
  | Readonly<Record<string, unknown>>;

/**
 * Where `inject` writes to. One of:
 * - a plain record (mutated: keys are lower case);
 * - any object with `set(name, value)` (fetch `Headers`, gRPC `Metadata`, a `Map`);
 * - a function `(name, value) => void`.
 */
export type HeaderSink =
  | { set(name: string, value: string): unknown }
  | ((name: string, value: string) => unknown)
  | Record<string, unknown>;

/** Reads header `name` (lower case) from `src`. Returns undefined when absent. @internal */
export function readHeader(src: HeaderSource, name: string): unknown {
  if (typeof src === 'function') return src(name);
  const get = (src as { get?: unknown }).get;
  if (typeof get === 'function') return (get as (n: string) => unknown).call(src, name);
  return (src as Readonly<Record<string, unknown>>)[name];
}

/**
 * Normalises a transport value to one string: undefined when absent/empty list, the single
 * element of a one-element list, `null` when several distinct values were given (a conflict the
 * caller treats as malformed). Bytes are decoded as Latin-1 (header octets). @internal
 */
export function singleValue(v: unknown): string | undefined | null {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (v instanceof Uint8Array) return latin1(v);
  if (Array.isArray(v)) {
    if (v.length === 0) return undefined;
    const first = singleValue(v[0]);
    for (let i = 1; i < v.length; i++) {
      if (singleValue(v[i]) !== first) return null;
    }
    return first;
  }
  return null;
}

function latin1(b: Uint8Array): string {
  let s = '';
  const n = Math.min(b.length, 16384);
  for (let i = 0; i < n; i++) s += String.fromCharCode(b[i]!);
  return s;
}

/** Writes header `name` (lower case) into `sink`. @internal */
export function writeHeader(sink: HeaderSink, name: string, value: string): void {
  if (typeof sink === 'function') {
    sink(name, value);
    return;
  }
  const set = (sink as { set?: unknown }).set;
  if (typeof set === 'function') {
    (set as (n: string, v: string) => unknown).call(sink, name, value);
    return;
  }
  (sink as Record<string, unknown>)[name] = value;
}

/** Validates that `x` is usable as a HeaderSource/HeaderSink; throws a TypeError naming `fn`. @internal */
export function checkHeaders(x: unknown, fn: string, what: 'source' | 'sink'): void {
  if (typeof x === 'function') return;
  if (x === null || typeof x !== 'object') {
    throw new TypeError(`${fn}: headers must be a plain record, an object with ${what === 'source' ? 'get(name)' : 'set(name, value)'}, or a function; got ${x === null ? 'null' : typeof x}`);
  }
}
