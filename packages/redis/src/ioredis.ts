/**
 * `@ctxkit/redis/ioredis` — an ioredis client bound to contexts.
 *
 * Rules of use:
 * - `wrapRedis(client, options?)` does not take ownership of `client`: keep using it, and
 *   `quit()` it yourself. `r.close()` closes only what the wrapper opened (the blocking pool and
 *   its control connection).
 * - Every command takes `ctx` first. An ended `ctx` rejects with `ctx.err`: nothing is queued or
 *   written. A budget below `minBudgetMs` rejects with a `DeadlineExceededError`, unsent.
 * - A command whose `ctx` ends before it was written (the client not connected yet or
 *   reconnecting, or its socket backed up) is taken out of the queue it waits in and never
 *   written; after it was written it rejects with `ctx.err` at once and its reply is read and
 *   discarded (replies are matched in order). Nothing is kept once that reply arrived.
 * - Blocking commands run on dedicated connections and are unblocked on the server when `ctx`
 *   ends (see `r.blocking`); called directly on `r`, they take the same path.
 * - Errors from Redis or ioredis pass through unchanged.
 */
import { assertContext, type Context, operation } from '@ctxkit/core';
import type { Command, Redis } from 'ioredis';
import { type CommandClass, commandClassOf } from './ioredis-command.js';
import { isBlocking, type RedisArg } from './blocking-plan.js';
import { ExecOutcomeUnknownError } from './errors.js';
import { IoredisBlocking } from './ioredis-blocking.js';
import { IoredisSender, type Sendable, Withdrawn } from './ioredis-sender.js';
import { isIoredisCluster, looksLikeIoredis } from './ioredis-shape.js';
import type {
  IoredisBatchBuilder,
  IoredisBlockingCommands,
  IoredisCommands,
  IoredisExecResult,
  IoredisBlockingName,
} from './ioredis-types.js';
import { budgetTooShort, type RedisOptions, type ResolvedRedisOptions, resolveRedisOptions } from './options.js';

export type {
  IoredisBatchBuilder,
  IoredisBlockingCommands,
  IoredisCommand,
  IoredisCommandName,
  IoredisCommands,
  IoredisExecResult,
} from './ioredis-types.js';
export type { RedisOptions } from './options.js';
export { ExecOutcomeUnknownError } from './errors.js';

/**
 * An ioredis client bound to contexts: every command method of ioredis, context first, plus the
 * members below. Made by `wrapRedis`; see this module's rules of use.
 */
export interface IoredisRedis extends IoredisCommands, AsyncDisposable {
  /** The wrapped client (`client` is the CLIENT command). */
  readonly redis: Redis;
  /** Any command by name, as `client.call(command, ...args)` (replies as strings). */
  call(ctx: Context, command: string, ...args: (RedisArg | RedisArg[])[]): Promise<unknown>;
  /** As `call`, with replies as Buffers. */
  callBuffer(ctx: Context, command: string, ...args: (RedisArg | RedisArg[])[]): Promise<unknown>;
  /**
   * A pipeline: `build` queues commands on an ioredis pipeline (it may be async; nothing is sent
   * until it returns), then the pipeline is sent in one write. Resolves with `exec`'s results;
   * rejects with `ctx.err` if `ctx` ends first (the replies are still read, and discarded).
   */
  pipeline(ctx: Context, build: IoredisBatchBuilder): Promise<IoredisExecResult>;
  /**
   * A MULTI/EXEC transaction, built like `pipeline` and sent in one write. `ctx` ends before it
   * is written → nothing is sent, nothing applied, rejects with `ctx.err`. After → rejects with
   * `ExecOutcomeUnknownError` (`cause`: `ctx.err`): it may or may not have been applied. Resolves
   * with `exec`'s results (`null` when a WATCHed key changed).
   */
  multi(ctx: Context, build: IoredisBatchBuilder): Promise<IoredisExecResult>;
  /**
   * The blocking commands bound to `ctx`, each run on a dedicated connection from a pool of
   * `blockingPoolSize` (made on demand with `client.duplicate()`): a call waits for a free one,
   * its server-side timeout is clamped to the remaining budget (+ `blockingTimeoutMarginMs`), and
   * when `ctx` ends it rejects with `ctx.err` at once while `CLIENT UNBLOCK` stops it on the server;
   * the connection is reused once its reply arrived, closed if not within `cleanupTimeoutMs`.
   */
  blocking(ctx: Context): IoredisBlockingCommands;
  /**
   * Closes the blocking pool and the control connection (connections still leased close when
   * their call ends), and stops listening to the client. Later blocking calls reject. The
   * client itself stays open.
   */
  close(): Promise<void>;
}

const BLOCKING_NAMES: ReadonlySet<string> = new Set<IoredisBlockingName | 'waitaof'>([
  'blpop',
  'brpop',
  'brpoplpush',
  'blmove',
  'blmpop',
  'bzpopmin',
  'bzpopmax',
  'bzmpop',
  'xread',
  'xreadgroup',
  'wait',
  'waitaof',
]);

const EXCLUDED: ReadonlySet<string> = new Set([
  'call',
  'callBuffer',
  'multi',
  'exec',
  'pipeline',
  'quit',
  'subscribe',
  'psubscribe',
  'ssubscribe',
  'unsubscribe',
  'punsubscribe',
  'sunsubscribe',
]);

function noCallback(fn: string, args: readonly unknown[]): void {
  if (args.length > 0 && typeof args[args.length - 1] === 'function') {
    throw new TypeError(`${fn}: callbacks are not supported; await the returned promise`);
  }
}

/** One command on the shared connection: the unit the sender queues, and the operation's teardown. */
class CommandCall implements Sendable {
  dropped = false;
  handed = false;
  constructor(
    private readonly sender: IoredisSender,
    private readonly cmd: Command,
  ) {}
  send(): void {
    this.sender.client.sendCommand(this.cmd);
  }
  cancel(err: Error): void {
    const cmd = this.cmd;
    if (this.sender.withdraw(this, [cmd]) === Withdrawn.Yes) {
      cmd.args = [];
      if (this.handed) cmd.reject(err);
    }
  }
}

/** A pipeline or transaction: queued and withdrawn as a whole. */
class BatchCall implements Sendable {
  dropped = false;
  handed = false;
  written = false;
  constructor(
    private readonly sender: IoredisSender,
    private readonly batch: { exec(): Promise<IoredisExecResult> },
    private readonly resolve: (v: IoredisExecResult | PromiseLike<IoredisExecResult>) => void,
  ) {}
  send(): void {
    this.resolve(this.batch.exec());
  }
  cancel(err: Error): void {
    const queue = (this.batch as unknown as { _queue: Command[] })._queue;
    if (this.sender.withdraw(this, queue) === Withdrawn.Yes) {
      for (const c of queue) {
        c.args = [];
        if (this.handed) c.reject(err);
      }
      return;
    }
    this.written = true;
  }
}

/** The wrapper's state; command methods are on its prototype. */
class IoredisWrapper {
  readonly sender: IoredisSender;
  private blockingSide: IoredisBlocking | undefined;
  private readonly errorStack: boolean;
  private readonly Command: CommandClass;

  constructor(
    readonly redis: Redis,
    readonly o: ResolvedRedisOptions,
  ) {
    this.sender = new IoredisSender(redis);
    this.errorStack = redis.options.showFriendlyErrorStack === true;
    this.Command = commandClassOf(redis);
  }

  get blockingRunner(): IoredisBlocking {
    if (this.blockingSide === undefined) this.blockingSide = new IoredisBlocking(this.redis, this.o, this.Command);
    return this.blockingSide;
  }

  /** @internal Runs one command on the shared connection (or the blocking path when it blocks). */
  run(ctx: Context, name: string, label: string, args: RedisArg[], encoding: 'utf8' | null, mayBlock: boolean): Promise<unknown> {
    noCallback(label, args);
    if (mayBlock && isBlocking(name, args.flat())) return this.blockingRunner.run(ctx, name, label, args.flat(), encoding);
    return operation<unknown>(ctx, label, (settle) => {
      if (ctx.deadline !== undefined) {
        const floor = budgetTooShort(ctx, label.slice(6), this.o);
        if (floor !== undefined) {
          settle.reject(floor);
          return;
        }
      }
      const cmd = new this.Command(name, args, {
        replyEncoding: encoding,
        keyPrefix: this.redis.options.keyPrefix,
        errorStack: this.errorStack ? new Error() : undefined,
      } as never);
      cmd.promise.then(
        (v: unknown) => settle.resolve(v),
        (e: unknown) => settle.reject(e),
      );
      const call = new CommandCall(this.sender, cmd);
      this.sender.submit(call);
      return call;
    });
  }

  call(ctx: Context, command: string, ...args: RedisArg[]): Promise<unknown> {
    return this.named(ctx, command, args, 'utf8');
  }

  callBuffer(ctx: Context, command: string, ...args: RedisArg[]): Promise<unknown> {
    return this.named(ctx, command, args, null);
  }

  private named(ctx: Context, command: string, args: RedisArg[], encoding: 'utf8' | null): Promise<unknown> {
    if (typeof command !== 'string' || command.length === 0) {
      throw new TypeError(`wrapRedis call: command must be a non-empty string, got ${command === '' ? "''" : typeof command}`);
    }
    return this.run(ctx, command, `redis ${command.toUpperCase()}`, args, encoding, true);
  }

  pipeline(ctx: Context, build: IoredisBatchBuilder): Promise<IoredisExecResult> {
    return this.batch(ctx, 'redis pipeline', build, false);
  }

  multi(ctx: Context, build: IoredisBatchBuilder): Promise<IoredisExecResult> {
    return this.batch(ctx, 'redis MULTI', build, true);
  }

  private async batch(ctx: Context, label: string, build: IoredisBatchBuilder, transaction: boolean): Promise<IoredisExecResult> {
    if (typeof build !== 'function') throw new TypeError(`${label}: build must be a function, got ${typeof build}`);
    if (ctx.err !== undefined) throw ctx.err;
    const p = transaction ? this.redis.multi() : this.redis.pipeline();
    const built = build(p);
    if (built !== null && typeof built === 'object' && typeof (built as PromiseLike<unknown>).then === 'function') {
      // Nothing is sent while the builder runs; an ended context abandons the batch unsent.
      await operation<void>(ctx, `${label} build`, (settle) => settle.resolve(built as PromiseLike<void>));
    }
    let call: BatchCall | undefined;
    try {
      return await operation<IoredisExecResult>(ctx, label, (settle) => {
        if (ctx.deadline !== undefined) {
          const floor = budgetTooShort(ctx, label.slice(6), this.o);
          if (floor !== undefined) {
            settle.reject(floor);
            return;
          }
        }
        call = new BatchCall(this.sender, p as never, settle.resolve.bind(settle));
        this.sender.submit(call);
        return call;
      });
    } catch (e) {
      if (transaction && call?.written === true && e === ctx.err) throw new ExecOutcomeUnknownError({ cause: e });
      throw e;
    }
  }

  blocking(ctx: Context): IoredisBlockingCommands {
    assertContext(ctx, 'wrapRedis blocking: ctx');
    return new BlockingRequest(this, ctx) as unknown as IoredisBlockingCommands;
  }

  async close(): Promise<void> {
    this.sender.detach();
    const b = this.blockingSide;
    if (b !== undefined) await b.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** `r.blocking(ctx)`: the blocking commands bound to one request's context. */
class BlockingRequest {
  constructor(
    readonly owner: IoredisWrapper,
    readonly ctx: Context,
  ) {}
  call(command: string, ...args: RedisArg[]): Promise<unknown> {
    if (typeof command !== 'string' || command.length === 0) {
      throw new TypeError('wrapRedis blocking call: command must be a non-empty string');
    }
    noCallback('wrapRedis blocking call', args);
    return this.owner.blockingRunner.run(this.ctx, command, `redis ${command.toUpperCase()}`, args.flat(), 'utf8');
  }
}

let defined = false;
/** Puts every command of ioredis (as `client` lists them) on the wrapper's prototype, once. */
function defineCommands(client: Redis): void {
  if (defined) return;
  defined = true;
  const names = client.getBuiltinCommands();
  const proto = IoredisWrapper.prototype as unknown as Record<string, unknown>;
  const view = BlockingRequest.prototype as unknown as Record<string, unknown>;
  for (const name of names) {
    if (EXCLUDED.has(name) || name in proto) continue;
    const label = `redis ${name.toUpperCase()}`;
    const mayBlock = BLOCKING_NAMES.has(name);
    for (const [method, encoding] of [
      [name, 'utf8'],
      [`${name}Buffer`, null],
    ] as const) {
      Object.defineProperty(proto, method, {
        configurable: true,
        writable: true,
        value: function (this: IoredisWrapper, ctx: Context, ...args: RedisArg[]) {
          return this.run(ctx, name, label, args, encoding, mayBlock);
        },
      });
      if (mayBlock) {
        Object.defineProperty(view, method, {
          configurable: true,
          writable: true,
          value: function (this: BlockingRequest, ...args: RedisArg[]) {
            noCallback(label, args);
            return this.owner.blockingRunner.run(this.ctx, name, label, args.flat(), encoding);
          },
        });
      }
    }
  }
}

/**
 * Binds the ioredis `client` to contexts; see this module's rules of use. Throws `TypeError` for
 * something that is not an ioredis `Redis` instance (a `Cluster` included: see the README), or
 * for bad `options`.
 */
export function wrapRedis(client: Redis, options?: RedisOptions): IoredisRedis {
  if (isIoredisCluster(client)) {
    throw new TypeError(
      'wrapRedis: an ioredis Cluster is not supported (commands could not be withdrawn from its queues); wrap a Redis instance',
    );
  }
  if (!looksLikeIoredis(client)) {
    throw new TypeError('wrapRedis (@ctxkit/redis/ioredis): client must be an ioredis Redis instance');
  }
  const o = resolveRedisOptions('wrapRedis', options);
  defineCommands(client);
  return new IoredisWrapper(client, o) as unknown as IoredisRedis;
}
