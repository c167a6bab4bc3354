/** Options of `wrapPool` / `wrapClient`, their defaults and validation. */
import { assertKnownOptions } from '@ctxkit/core';

/** Tuning for `wrapPool` and `wrapClient`. Every member is optional. */
export interface PgOptions {
  /**
   * Also enforce a context's deadline in the server, as the statement's `statement_timeout`, so
   * the statement stops even if this process dies or cannot reach the server to cancel it.
   * Never raises a lower `statement_timeout` the session already has. Default `true`.
   */
  serverTimeout?: boolean;
  /**
   * Milliseconds added to the remaining budget to make the server-side `statement_timeout`, so
   * that this process's own deadline (which sends a cancel request and rejects with `ctx.err`)
   * normally fires first and the server's is the backstop: a statement with remaining budget R
   * never runs under a server-side timeout below R + margin (unless the session's own
   * `statement_timeout` is stricter). Finite, ≥ 0. Default 50.
   */
  serverTimeoutMarginMs?: number;
  /**
   * How much looser than R + margin the server-side timeout may be, so a connection can keep the
   * `statement_timeout` an earlier statement left and skip the `SET` round trip: a statement
   * with remaining budget R runs under any value T with
   * R + margin ≤ T ≤ R + margin + max(serverTimeoutSlackRatio × R, serverTimeoutSlackMs).
   * This process still cancels the statement exactly at its deadline; the slack only delays the
   * server's backstop (when this process died or cannot reach the server). Finite, ≥ 0.
   * Default 0.25.
   */
  serverTimeoutSlackRatio?: number;
  /** The lower bound of the slack above, in milliseconds. Finite, ≥ 0. Default 100. */
  serverTimeoutSlackMs?: number;
  /**
   * Upper bound, in milliseconds, of each cleanup step run after a context ended: waiting for a
   * cancelled statement to stop, the health check of its connection, ROLLBACK. When a step
   * overruns, the connection is destroyed instead of being reused. Finite, > 0. Default 5000.
   */
  cleanupTimeoutMs?: number;
}

/** @internal Options with defaults applied. */
export interface ResolvedOptions {
  readonly serverTimeout: boolean;
  readonly marginMs: number;
  readonly slackRatio: number;
  readonly slackMs: number;
  readonly cleanupTimeoutMs: number;
}

function checkNonNegative(fn: string, name: string, v: unknown): asserts v is number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new TypeError(`${fn}: options.${name} must be a finite number ≥ 0, got ${String(v)}`);
  }
}

/** The option names `PgOptions` has. */
const PG_OPTION_KEYS: readonly string[] = [
  'serverTimeout',
  'serverTimeoutMarginMs',
  'serverTimeoutSlackRatio',
  'serverTimeoutSlackMs',
  'cleanupTimeoutMs',
];

/** @internal */
export function resolveOptions(options: PgOptions | undefined, fn: string): ResolvedOptions {
  if (options === undefined) return { serverTimeout: true, marginMs: 50, slackRatio: 0.25, slackMs: 100, cleanupTimeoutMs: 5000 };
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`${fn}: options must be an object, got ${options === null ? 'null' : typeof options}`);
  }
  assertKnownOptions(options, PG_OPTION_KEYS, fn);
  const {
    serverTimeout = true,
    serverTimeoutMarginMs = 50,
    serverTimeoutSlackRatio = 0.25,
    serverTimeoutSlackMs = 100,
    cleanupTimeoutMs = 5000,
  } = options;
  if (typeof serverTimeout !== 'boolean') {
    throw new TypeError(`${fn}: options.serverTimeout must be a boolean, got ${typeof serverTimeout}`);
  }
  checkNonNegative(fn, 'serverTimeoutMarginMs', serverTimeoutMarginMs);
  checkNonNegative(fn, 'serverTimeoutSlackRatio', serverTimeoutSlackRatio);
  checkNonNegative(fn, 'serverTimeoutSlackMs', serverTimeoutSlackMs);
  if (typeof cleanupTimeoutMs !== 'number' || !Number.isFinite(cleanupTimeoutMs) || cleanupTimeoutMs <= 0) {
    throw new TypeError(`${fn}: options.cleanupTimeoutMs must be a finite number > 0, got ${String(cleanupTimeoutMs)}`);
  }
  return {
    serverTimeout,
    marginMs: serverTimeoutMarginMs,
    slackRatio: serverTimeoutSlackRatio,
    slackMs: serverTimeoutSlackMs,
    cleanupTimeoutMs,
  };
}
