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
export type HeaderSource = { get(name: string): unknown } | ((name: string) => unknown) | Readonly<Record<string, unknown>>;

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

/** `carrierShape` values (how a header carrier is read): a plain record, an object with `get(name)`, a function. */
const SOURCE_RECORD = 0;
const SOURCE_GETTER = 1;
const SOURCE_FUNCTION = 2;

/**
 * @internal `s` without the optional whitespace (spaces and tabs) HTTP allows around a header
 * value or list member; `s` itself when there is none.
 */
export function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 32 || s.charCodeAt(a) === 9)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 32 || s.charCodeAt(b - 1) === 9)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/**
 * How `src` is read, decided once per extraction (each header read then costs one property
 * access on a plain record, rather than a `get` lookup that misses on every call). @internal
 */
export function carrierShape(src: HeaderSource): number {
  if (typeof src === 'function') return SOURCE_FUNCTION;
  return typeof (src as { get?: unknown }).get === 'function' ? SOURCE_GETTER : SOURCE_RECORD;
}

/** Reads header `name` (lower case) from `src` of shape `shape` (from `carrierShape`). @internal */
export function readAs(src: HeaderSource, shape: number, name: string): unknown {
  if (shape === SOURCE_RECORD) return (src as Readonly<Record<string, unknown>>)[name];
  if (shape === SOURCE_GETTER) return (src as { get(n: string): unknown }).get(name);
  return (src as (n: string) => unknown)(name);
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
    throw new TypeError(
      `${fn}: headers must be a plain record, an object with ${what === 'source' ? 'get(name)' : 'set(name, value)'}, or a function; got ${x === null ? 'null' : typeof x}`,
    );
  }
}
