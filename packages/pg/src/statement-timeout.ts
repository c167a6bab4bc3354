/** Turning a context's remaining budget into a server-side `statement_timeout`. */
import type { QueryResult } from 'pg';
import { DeadlineExceededError, remaining, type Context } from '@ctxkit/core';
import { isQueryCanceled } from './errors.js';
import type { Lane, Scope } from './lane.js';
import { sql, type Sendable } from './query-config.js';
import type { ResolvedOptions } from './options.js';
import { withTimeout, withoutCancel } from '@ctxkit/core';

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses what `SHOW statement_timeout` prints ('0', '250ms', '30s', '5min', '1h', '1d') into
 * milliseconds; 0 means "no timeout". Returns `undefined` for anything else.
 */
export function parseStatementTimeout(shown: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(shown);
  if (m === null) return undefined;
  const unit = m[2]!.toLowerCase() || 'ms';
  const factor = UNIT_MS[unit];
  return factor === undefined ? undefined : Number(m[1]) * factor;
}

/**
 * The statement_timeout (whole ms, ≥ 1) for a statement bounded by every context in `ctxs`:
 * the smallest remaining budget plus `marginMs`; `undefined` when none has a deadline.
 */
export function budgetMs(ctxs: readonly (Context | undefined)[], marginMs: number): number | undefined {
  let min = Infinity;
  for (const c of ctxs) {
    if (c === undefined || c.deadline === undefined) continue;
    const r = remaining(c);
    if (r < min) min = r;
  }
  if (min === Infinity) return undefined;
  return Math.max(1, Math.ceil(min + marginMs));
}

/**
 * Whether the server must be told `budget`: only when it is stricter than the session's own
 * setting (`sessionMs`, 0 = none), so a configured lower limit is never raised.
 */
export function needsServerTimeout(budget: number | undefined, sessionMs: number): budget is number {
  return budget !== undefined && (sessionMs === 0 || budget < sessionMs);
}

/** A SQL string literal (standard_conforming_strings on, the default since PostgreSQL 9.1). */
export function quoteLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/**
 * Reads the session's statement_timeout into `lane` (once per connection). Rejects like any
 * statement run under `ctx`.
 */
export async function readSessionTimeout(lane: Lane, ctx: Context, scope: Scope | undefined, group?: object): Promise<void> {
  if (lane.sessionTimeoutText !== undefined) return;
  const res = await lane.run(ctx, sql('SHOW statement_timeout'), scope, group);
  const text = String((res.rows[0] as Record<string, unknown> | undefined)?.['statement_timeout'] ?? '0');
  lane.sessionTimeoutText = text;
  lane.sessionTimeoutMs = parseStatementTimeout(text) ?? 0;
}

/**
 * What a statement that ran under a server-side timeout we set rejects with: a `57014` from the
 * server becomes the ended context's `ctx.err` (the first in `ctxs` that ended), or, when the
 * server fired before this process's own deadline, a `DeadlineExceededError` whose cause is the
 * server's error. Anything else passes through.
 */
export function mapServerTimeout(e: unknown, ctxs: readonly Context[]): unknown {
  if (!isQueryCanceled(e)) return e;
  for (const c of ctxs) if (c.err !== undefined) return c.err;
  return new DeadlineExceededError('@ctxkit/pg: the server stopped the statement at its statement_timeout (the context\'s deadline)', { cause: e });
}

/**
 * Runs one statement outside any transaction with the context's budget as the session's
 * statement_timeout: `SET`, the statement, `SET` back to the session's own value. `deliver` gets
 * the statement's outcome as soon as it settles; the `SET` back is queued on the lane before
 * that (so it precedes any statement the caller sends next) and runs even when the context
 * ended (on `withoutCancel` with `cleanupTimeoutMs`); a failure there breaks the lane, so the
 * connection is destroyed rather than reused with a foreign timeout. The returned promise
 * (never rejected) settles once the session is back to its own setting. A session that already
 * has a stricter timeout gets the plain statement.
 */
export function runWithSessionTimeout(
  lane: Lane,
  ctx: Context,
  config: Sendable,
  o: ResolvedOptions,
  deliver: (err: unknown, res: QueryResult | undefined) => void,
): Promise<void> {
  // One group: no other statement on this connection may run between SET and SET back.
  const group = {};
  if (lane.sessionTimeoutText !== undefined) return armAndRun(lane, ctx, config, o, deliver, group);
  return readSessionTimeout(lane, ctx, undefined, group).then(
    () => armAndRun(lane, ctx, config, o, deliver, group),
    (e: unknown) => {
      lane.endGroup(group);
      deliver(e, undefined);
    },
  );
}

function armAndRun(
  lane: Lane,
  ctx: Context,
  config: Sendable,
  o: ResolvedOptions,
  deliver: (err: unknown, res: QueryResult | undefined) => void,
  group: object,
): Promise<void> {
  const done = (): void => lane.endGroup(group);
  const budget = budgetMs([ctx], o.marginMs);
  if (!needsServerTimeout(budget, lane.sessionTimeoutMs)) {
    return new Promise<void>((resolve) => lane.exec(ctx, config, undefined, (e, r) => {
      done();
      deliver(e, r);
      resolve();
    }, group));
  }
  const restore = (): Promise<void> => {
    if (lane.broken !== undefined) {
      done();
      return Promise.resolve();
    }
    const s = withTimeout(withoutCancel(ctx), o.cleanupTimeoutMs);
    return new Promise<void>((resolve) => lane.exec(s.ctx, sql(`SET statement_timeout = ${quoteLiteral(lane.sessionTimeoutText!)}`), undefined, (e) => {
      s.cancel();
      if (e !== undefined) lane.markBroken(e instanceof Error ? e : new Error(String(e)));
      done();
      resolve();
    }, group));
  };
  return new Promise<void>((resolve) => lane.exec(ctx, sql(`SET statement_timeout = ${budget}`), undefined, (setErr) => {
    if (setErr !== undefined) {
      const restored = restore(); // the SET may have run before it was cancelled
      deliver(setErr, undefined);
      void restored.then(resolve);
      return;
    }
    lane.exec(ctx, config, undefined, (e, r) => {
      const restored = restore();
      deliver(e === undefined ? undefined : mapServerTimeout(e, [ctx]), r);
      void restored.then(resolve);
    }, group);
  }, group));
}
