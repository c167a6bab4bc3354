/**
 * Typed keys for request-scoped values.
 *
 * Rules of use: make a key once, at module level, with `createKey`, and export accessors rather
 * than the key when other modules should only read. Values are for request-scoped data that
 * crosses API boundaries (a request id, the caller's identity), never for optional parameters.
 */
import { describeValue } from './describe.js';

/** A key for `withValue`/`ctx.value`. Only `createKey` makes one; two keys never collide. */
export class Key<T> {
  /** @internal */
  private constructor(
    /** A name for debugging; keys with the same name are still distinct. */
    readonly name: string,
    /** Returned by `ctx.value(key)` when no context on the chain holds the key. */
    readonly defaultValue: T | undefined,
  ) {}

  /** @internal */
  static make<T>(name: string, defaultValue: T | undefined): Key<T> {
    return new Key(name, defaultValue);
  }

  toString(): string {
    return `Key(${this.name})`;
  }
}

/**
 * Makes a new, unique key. `ctx.value(key)` returns `defaultValue` when no context on the chain
 * holds a value for it. Throws `TypeError` when `name` is not a string.
 */
export function createKey<T>(name: string, defaultValue?: T): Key<T> {
  if (typeof name !== 'string') throw new TypeError(`createKey: name must be a string, got ${describeValue(name)}`);
  return Key.make<T>(name, defaultValue);
}
