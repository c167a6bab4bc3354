/** Options of `wrapRedis`, their defaults and validation, and the budget floor they set. */
import { assertKnownOptions, type Context, DeadlineExceededError, remaining } from '@ctxkit/core';

/** Tuning for `wrapRedis`. Every member is optional. */
export interface RedisOptions {
  /**
   * A command whose context has less than this many milliseconds of budget left is not sent: it
   * rejects at once with a `DeadlineExceededError` (so `isContextError` covers it), because no
   * reply could arrive in time. Finite, ≥ 0; 0 sends whatever is left. Default 1.
   */
  minBudgetMs?: number;
  /**
   * The most connections kept for blocking commands (BLPOP, XREAD BLOCK, …), each a duplicate of
   * the wrapped client's connection. More concurrent blocking calls wait for one; a call whose
   * context ends while waiting leaves the queue. Integer ≥ 1. Default 4.
   */
  blockingPoolSize?: number;
  /**
   * Milliseconds added to the remaining budget to make a blocking command's server-side timeout,
   * so this process's own deadline (which unblocks the command with `CLIENT UNBLOCK` and rejects
   * with `ctx.err`) fires first and the server's timeout is the backstop if this process dies.
   * A shorter timeout given by the caller is kept. Finite, ≥ 0. Default 50.
   */
  blockingTimeoutMarginMs?: number;
  /**
   * Upper bound, in milliseconds, of the cleanup after a context ended: waiting for an unblocked
   * command's reply, or for the reply a cancelled command still owes. When it overruns, the
   * connection is closed instead of being reused. Finite, > 0. Default 5000.
   */
  cleanupTimeoutMs?: number;
}

/** @internal Options with defaults applied. */
export interface ResolvedRedisOptions {
  readonly minBudgetMs: number;
  readonly blockingPoolSize: number;
  readonly blockingTimeoutMarginMs: number;
  readonly cleanupTimeoutMs: number;
}

const KEYS: readonly string[] = ['minBudgetMs', 'blockingPoolSize', 'blockingTimeoutMarginMs', 'cleanupTimeoutMs'];

function finite(fn: string, name: string, v: unknown, min: number, strict: boolean): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || (strict ? v <= min : v < min)) {
    throw new TypeError(`${fn}: options.${name} must be a finite number ${strict ? '>' : '≥'} ${min}, got ${String(v)}`);
  }
  return v;
}

/**
 * @internal Validates `options` for `fn` (its name, for messages) and applies the defaults.
 * Throws `TypeError` naming the option for an unknown key or a bad value.
 */
export function resolveRedisOptions(fn: string, options: RedisOptions | undefined): ResolvedRedisOptions {
  if (options === undefined) return DEFAULTS;
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${fn}: options must be an object, got ${options === null ? 'null' : typeof options}`);
  }
  assertKnownOptions(options, KEYS, fn);
  const size = options.blockingPoolSize ?? DEFAULTS.blockingPoolSize;
  if (!Number.isInteger(size) || size < 1) {
    throw new TypeError(`${fn}: options.blockingPoolSize must be an integer ≥ 1, got ${String(size)}`);
  }
  return {
    minBudgetMs: finite(fn, 'minBudgetMs', options.minBudgetMs ?? DEFAULTS.minBudgetMs, 0, false),
    blockingPoolSize: size,
    blockingTimeoutMarginMs: finite(
      fn,
      'blockingTimeoutMarginMs',
      options.blockingTimeoutMarginMs ?? DEFAULTS.blockingTimeoutMarginMs,
      0,
      false,
    ),
    cleanupTimeoutMs: finite(fn, 'cleanupTimeoutMs', options.cleanupTimeoutMs ?? DEFAULTS.cleanupTimeoutMs, 0, true),
  };
}

const DEFAULTS: ResolvedRedisOptions = Object.freeze({
  minBudgetMs: 1,
  blockingPoolSize: 4,
  blockingTimeoutMarginMs: 50,
  cleanupTimeoutMs: 5000,
});

/**
 * @internal The error a command named `command` must fail with before it is sent, because
 * `ctx` has less budget left than `minBudgetMs`; `undefined` when it may be sent. Does not look
 * at whether `ctx` has ended (the operation primitive does). Cheap for a context without a
 * deadline: one property read.
 */
export function budgetTooShort(ctx: Context, command: string, o: ResolvedRedisOptions): DeadlineExceededError | undefined {
  if (ctx.deadline === undefined || o.minBudgetMs === 0) return undefined;
  const left = remaining(ctx);
  if (left >= o.minBudgetMs) return undefined;
  return new DeadlineExceededError(
    `redis ${command}: ${left.toFixed(1)} ms of budget left, below minBudgetMs (${o.minBudgetMs} ms); not sent`,
  );
}
