/**
 * The typed surface of the ioredis adapter, derived from ioredis's own declarations: each command
 * method of `Redis`, with a `Context` first and no callback.
 *
 * TypeScript cannot rewrite every overload of a method (ioredis has up to 144 per command), so a
 * wrapped method is generic over its arguments: they are accepted exactly when one of ioredis's
 * overloads accepts them, and the reply type is that of ioredis's most general (last) overload —
 * the same as every other overload's for all but a few commands (SET … GET is special-cased;
 * for ZADD … INCR, LPOP with a count and the like, annotate the result or use `call`).
 */
import type { Context } from '@ctxkit/core';
import type { ChainableCommander, Redis, RedisCommander, RedisValue } from 'ioredis';

type AnyFn = (...args: any[]) => any;

/** @internal `unknown` when some overload of `F` takes `A` without a callback; else a tuple naming the problem. */
export type IoredisArgsCheck<F, A extends unknown[]> = A extends [...unknown[], AnyFn]
  ? ['callbacks are not supported: await the returned promise']
  : F extends (...args: A) => unknown
    ? unknown
    : ['these arguments match no overload of the ioredis method'];

/** @internal The reply type of `F` called with `A` (see the module's note). */
export type IoredisReply<F, A extends unknown[]> = F extends (...args: any[]) => infer R
  ? 'GET' extends A[number]
    ? Awaited<R> extends 'OK'
      ? string | null
      : Awaited<R>
    : Awaited<R>
  : never;

/** One ioredis command method, context first: `(ctx, ...ioredis's arguments) → Promise<reply>`. */
export type IoredisCommand<F> = <const A extends unknown[]>(
  ctx: Context,
  ...args: A & IoredisArgsCheck<F, A>
) => Promise<IoredisReply<F, A>>;

/** Methods of ioredis's command interface that the wrapper does not mirror (see the README). */
export type IoredisExcluded =
  | 'call'
  | 'callBuffer'
  | 'multi'
  | 'exec'
  | 'pipeline'
  | 'quit'
  | 'subscribe'
  | 'psubscribe'
  | 'ssubscribe'
  | 'unsubscribe'
  | 'punsubscribe'
  | 'sunsubscribe';

/** The command names the wrapper mirrors: every command method of ioredis's `RedisCommander`. */
export type IoredisCommandName = Exclude<
  { [K in keyof RedisCommander]: RedisCommander[K] extends AnyFn ? K : never }[keyof RedisCommander],
  IoredisExcluded
>;

/** Every mirrored command, typed from ioredis (`Redis`'s own signatures). */
export type IoredisCommands = { [K in IoredisCommandName & keyof Redis]: IoredisCommand<Redis[K]> };

/** Names of the commands that block on the server. */
export type IoredisBlockingName = Extract<
  'blpop' | 'brpop' | 'brpoplpush' | 'blmove' | 'blmpop' | 'bzpopmin' | 'bzpopmax' | 'bzmpop' | 'xread' | 'xreadgroup' | 'wait' | 'waitaof',
  keyof Redis
>;

/**
 * What `r.blocking(ctx)` returns: the blocking commands with ioredis's own signatures (all bound
 * to that context; callbacks are rejected), and `call` for any command by name. Each call runs on
 * a dedicated connection (see `wrapRedis`).
 */
export type IoredisBlockingCommands = {
  [K in IoredisBlockingName | `${IoredisBlockingName}Buffer`]: K extends keyof Redis ? Redis[K] : never;
} & {
  /** Any command by name on a dedicated connection; the reply as ioredis's `call` gives it. */
  call(command: string, ...args: (RedisValue | RedisValue[])[]): Promise<unknown>;
};

/** A pipeline's (or a transaction's) results as ioredis's `exec` gives them. */
export type IoredisExecResult = [error: Error | null, result: unknown][] | null;

/** Builds a pipeline or transaction: queue commands on `p` (do not call `exec`); a promise it returns is awaited first. */
export type IoredisBatchBuilder = (p: ChainableCommander) => unknown;
