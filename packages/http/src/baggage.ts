/**
 * W3C Baggage: request-scoped name/value pairs that cross services. ctxkit sends and accepts
 * only names on an allowlist (values from the wire are untrusted input), within the W3C limits:
 * at most 180 members and 8192 bytes per header.
 */
import { createKey, withValue, type Context } from '@ctxkit/core';
import { trimOws } from './headers.js';

/** W3C limit: members per `baggage` header. */
export const BAGGAGE_MAX_MEMBERS = 180;
/** W3C limit: bytes per `baggage` header. */
export const BAGGAGE_MAX_BYTES = 8192;

const EMPTY: ReadonlyMap<string, string> = new Map();
const baggageKey = createKey<ReadonlyMap<string, string>>('@ctxkit/http baggage', EMPTY);

/** RFC 7230 token: what a baggage member name must be. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** W3C baggage-octet run: what a (still percent-encoded) value may contain. */
const VALUE = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/;

/** True when `name` can be a baggage member name (an RFC 7230 token). */
export function isBaggageName(name: string): boolean {
  return typeof name === 'string' && name.length > 0 && name.length <= 256 && TOKEN.test(name);
}

/**
 * A child of `parent` whose baggage is `parent`'s plus `entries` (later entries win). Names must be
 * RFC 7230 tokens and values strings, otherwise `TypeError`. Ends when `parent` ends; no scope.
 * What crosses the wire is decided by the `baggage` allowlist of `inject`/`ctxFetch`.
 */
export function withBaggage(parent: Context, entries: Readonly<Record<string, string>> | Iterable<readonly [string, string]>): Context {
  if (entries === null || typeof entries !== 'object')
    throw new TypeError('withBaggage: entries must be a record or an iterable of [name, value]');
  const next = new Map(getBaggage(parent));
  const pairs =
    Symbol.iterator in entries ? (entries as Iterable<readonly [string, string]>) : Object.entries(entries as Record<string, string>);
  for (const [k, v] of pairs) {
    if (!isBaggageName(k))
      throw new TypeError(`withBaggage: ${JSON.stringify(String(k).slice(0, 64))} is not a valid baggage name (an RFC 7230 token)`);
    if (typeof v !== 'string') throw new TypeError(`withBaggage: the value of ${k} must be a string, got ${typeof v}`);
    next.set(k, v);
  }
  return withValue(parent, baggageKey, next);
}

/** The baggage `ctx` carries (from `extract` or `withBaggage`); an empty map when none. */
export function getBaggage(ctx: Context): ReadonlyMap<string, string> {
  return ctx.value(baggageKey) ?? EMPTY;
}

/**
 * @internal A child of `parent` carrying `m` as its baggage, as is: the caller has already
 * validated and bounded it (names allowlisted, W3C limits kept).
 */
export function withBaggageUnchecked(parent: Context, m: ReadonlyMap<string, string>): Context {
  return withValue(parent, baggageKey, m);
}

/**
 * Parses a `baggage` header, keeping only members whose name `allow` accepts. Bounded: a header
 * longer than 8192 bytes is ignored whole, at most 180 members are read, malformed members are
 * skipped, properties are dropped. Never throws. Returns undefined when nothing was kept.
 */
export function parseBaggage(header: string, allow: ReadonlySet<string>): Map<string, string> | undefined {
  if (typeof header !== 'string' || header.length === 0 || header.length > BAGGAGE_MAX_BYTES || allow.size === 0) return undefined;
  let out: Map<string, string> | undefined;
  const members = header.split(',', BAGGAGE_MAX_MEMBERS);
  for (const m of members) {
    const semi = m.indexOf(';');
    const kv = semi < 0 ? m : m.slice(0, semi);
    const eq = kv.indexOf('=');
    if (eq < 0) continue;
    const name = trimOws(kv.slice(0, eq));
    if (!allow.has(name)) continue;
    const raw = trimOws(kv.slice(eq + 1));
    if (!VALUE.test(raw)) continue;
    let value: string;
    try {
      value = decodeURIComponent(raw);
    } catch {
      continue;
    }
    (out ??= new Map()).set(name, value);
  }
  return out;
}

/**
 * Serialises the members of `m` whose names `allow` accepts as a `baggage` header value
 * (percent-encoded values), stopping before 180 members or 8192 bytes would be exceeded (whole
 * members only). Returns undefined when nothing qualifies.
 */
export function serializeBaggage(m: ReadonlyMap<string, string>, allow: ReadonlySet<string>): string | undefined {
  if (m.size === 0 || allow.size === 0) return undefined;
  let out = '';
  let count = 0;
  for (const [k, v] of m) {
    if (!allow.has(k) || !isBaggageName(k)) continue;
    let enc: string;
    try {
      enc = encodeURIComponent(v);
    } catch {
      continue; // lone surrogate: not representable
    }
    const member = `${k}=${enc}`;
    const len = out.length + (count > 0 ? 1 : 0) + member.length; // all ASCII: chars = bytes
    if (len > BAGGAGE_MAX_BYTES || count >= BAGGAGE_MAX_MEMBERS) break;
    out = count > 0 ? `${out},${member}` : member;
    count++;
  }
  return count > 0 ? out : undefined;
}

/** @internal Validates an allowlist option into a set. */
export function allowSet(list: unknown, fn: string): ReadonlySet<string> {
  if (list === undefined) return EMPTY_SET;
  if (!Array.isArray(list)) throw new TypeError(`${fn}: options.baggage must be an array of baggage names`);
  for (const n of list) {
    if (!isBaggageName(n))
      throw new TypeError(`${fn}: options.baggage: ${JSON.stringify(String(n).slice(0, 64))} is not a valid baggage name`);
  }
  return new Set(list as string[]);
}
const EMPTY_SET: ReadonlySet<string> = new Set();
