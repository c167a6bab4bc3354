/**
 * ioredis's `Command` class, found through a client instance rather than imported, so that this
 * package never loads ioredis itself (the root entry must load without it, and a user's client
 * must be served by the ioredis copy it came from).
 */
import type { Command, Redis } from 'ioredis';

/** @internal The constructor of ioredis's `Command`. */
export type CommandClass = new (name: string, args: unknown[], options: object) => Command;

const found = new WeakMap<object, CommandClass>();

/**
 * @internal The `Command` class `client` uses: ioredis's own command builder is called once with a
 * stand-in `this` that keeps the command it is given (nothing is sent).
 */
export function commandClassOf(client: Redis): CommandClass {
  const key = Object.getPrototypeOf(client) as object;
  let C = found.get(key);
  if (C !== undefined) return C;
  let made: Command | undefined;
  const standIn = {
    options: {},
    sendCommand(c: Command) {
      made = c;
      return c.promise;
    },
  };
  const build = (client as unknown as { createBuiltinCommand(n: string): { string: (this: unknown) => unknown } }).createBuiltinCommand(
    'ping',
  );
  build.string.call(standIn);
  if (made === undefined) throw new TypeError('wrapRedis: this ioredis version does not build commands as expected');
  C = made.constructor as CommandClass;
  found.set(key, C);
  return C;
}
