/** Options of `wrapPool` / `wrapClient`, their defaults and validation. */

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
   * normally fires first and the server's is the backstop. Inside a transaction, the value in
   * force is refreshed (`SET LOCAL`) only once it exceeds a statement's budget by more than this
   * (or is stricter than that budget).
   * Finite, ≥ 0. Default 50.
   */
  serverTimeoutMarginMs?: number;
  /**
   * Upper bound, in milliseconds, of each cleanup step run after a context ended: waiting for a
   * cancelled statement to stop, the health check of its connection, ROLLBACK, restoring
   * `statement_timeout`. When a step overruns, the connection is destroyed instead of being
   * reused. Finite, > 0. Default 5000.
   */
  cleanupTimeoutMs?: number;
}

/** @internal Options with defaults applied. */
export interface ResolvedOptions {
  readonly serverTimeout: boolean;
  readonly marginMs: number;
  readonly cleanupTimeoutMs: number;
}

/** @internal */
export function resolveOptions(options: PgOptions | undefined, fn: string): ResolvedOptions {
  if (options === undefined) return { serverTimeout: true, marginMs: 50, cleanupTimeoutMs: 5000 };
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`${fn}: options must be an object, got ${options === null ? 'null' : typeof options}`);
  }
  const { serverTimeout = true, serverTimeoutMarginMs = 50, cleanupTimeoutMs = 5000 } = options;
  if (typeof serverTimeout !== 'boolean') {
    throw new TypeError(`${fn}: options.serverTimeout must be a boolean, got ${typeof serverTimeout}`);
  }
  if (typeof serverTimeoutMarginMs !== 'number' || !Number.isFinite(serverTimeoutMarginMs) || serverTimeoutMarginMs < 0) {
    throw new TypeError(`${fn}: options.serverTimeoutMarginMs must be a finite number ≥ 0, got ${String(serverTimeoutMarginMs)}`);
  }
  if (typeof cleanupTimeoutMs !== 'number' || !Number.isFinite(cleanupTimeoutMs) || cleanupTimeoutMs <= 0) {
    throw new TypeError(`${fn}: options.cleanupTimeoutMs must be a finite number > 0, got ${String(cleanupTimeoutMs)}`);
  }
  return { serverTimeout, marginMs: serverTimeoutMarginMs, cleanupTimeoutMs };
}
