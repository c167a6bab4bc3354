/**
 * Turning a context's remaining budget into a server-side `statement_timeout`, without a round
 * trip per statement.
 *
 * The lane remembers the value in force in the session (`Lane.inForceMs`; inside a transaction
 * the transaction's own, set with `SET LOCAL`). A statement with remaining budget R may run
 * under any value T with R + margin ≤ T ≤ R + margin + slack (slack = max(ratio × R, ms)):
 * when the value in force fits, the statement goes alone; otherwise one `SET` precedes it and
 * stays in force afterwards (recorded, never set back), so the next statements with similar
 * budgets — the usual case: every request of a service has the same budget — send nothing
 * extra. A statement without a deadline needs the session's own value back first. This process
 * still cancels at the deadline itself (CancelRequest); the server's timeout is the backstop for
 * when it cannot (it died, or its event loop is stuck), so a bounded slack is harmless.
 *
 * Invariants: a statement never runs under a value below R + margin (unless the session's own
 * configured `statement_timeout` is stricter: that one is never raised), nor above
 * R + margin + slack; a statement without a deadline never runs under a value of ours; a
 * client whose session holds a value of ours is guarded while no wrapper holds it (see
 * `Lane.leave`), so plain node-postgres use of a pooled connection gets the session's own value.
 */
import type { QueryResult } from 'pg';
import { DeadlineExceededError, remaining, type Context } from '@ctxkit/core';
import { isQueryCanceled, txStatus } from './errors.js';
import type { Job, Lane, Scope, TimeoutNeed } from './lane.js';
import { sql } from './query-config.js';
import type { ResolvedOptions } from './options.js';

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

/** A SQL string literal (standard_conforming_strings on, the default since PostgreSQL 9.1). */
function quoteLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/**
 * The largest statement_timeout PostgreSQL accepts (INT_MAX milliseconds): the server's limit, not
 * ctxkit's budget ceiling (core's `MAX_BUDGET_MS`), though the two are the same number today.
 */
const MAX_TIMEOUT_MS = 2_147_483_647;

/** `planTimeout`: the value in force fits the statement; send nothing. */
export const KEEP = -1;
/** `planTimeout`: the session's own value must be in force; send a `SET` back to it. */
export const RESTORE = -2;

/**
 * @internal The statement that puts a `statement_timeout` in force: `verb` is `SET` (the
 * session's value) or `SET LOCAL` (the transaction's); `p` is the milliseconds to set, or
 * `RESTORE` for the session's own value, given as `SHOW statement_timeout` printed it
 * (`sessionText`, sent as a quoted literal, its unit included).
 */
export function statementTimeoutSql(verb: 'SET' | 'SET LOCAL', p: number, sessionText: string | undefined): string {
  return `${verb} statement_timeout = ${p === RESTORE ? quoteLiteral(sessionText!) : p}`;
}

/**
 * What must happen to the statement_timeout in force before a statement runs. `inForce`:
 * undefined = the session's own value (`sessionMs`, 0 = none), else the ms we set (NaN =
 * unknown). `r`: the statement's remaining budget in ms, undefined without a deadline. Returns
 * `KEEP`, `RESTORE`, or the ms to `SET` (the middle of the window, so that statements with
 * somewhat larger and somewhat smaller budgets both fit it; capped at the session's own value).
 */
export function planTimeout(inForce: number | undefined, sessionMs: number, r: number | undefined, o: ResolvedOptions): number {
  if (r === undefined) return inForce === undefined ? KEEP : RESTORE;
  const lo = Math.max(1, Math.ceil(r + o.marginMs));
  // Beyond what statement_timeout can hold (~24.8 days) the budget bounds nothing: as no deadline.
  if (lo > MAX_TIMEOUT_MS) return inForce === undefined ? KEEP : RESTORE;
  const session = sessionMs === 0 ? Infinity : sessionMs;
  // A session limit at least as strict as the budget wins: it is never raised.
  if (session <= lo) return inForce === undefined || inForce === session ? KEEP : RESTORE;
  const slack = Math.floor(Math.max(o.slackRatio * Math.max(r, 0), o.slackMs));
  const hi = Math.min(lo + slack, session, MAX_TIMEOUT_MS);
  const current = inForce === undefined ? session : inForce; // NaN fits nothing
  if (current >= lo && current <= hi) return KEEP;
  const target = Math.min(lo + Math.floor(slack / 2), hi);
  return target >= session ? RESTORE : target;
}

/**
 * @internal Whether the session is outside any transaction, as far as node-postgres knows (a
 * client that has just connected reports null until its first statement).
 */
export function outsideTransaction(lane: Lane): boolean {
  const s = txStatus(lane.client);
  return s !== 'T' && s !== 'E';
}

/** Stores what `SHOW statement_timeout` returned as the session's own value. */
function storeSessionTimeout(lane: Lane, res: QueryResult | undefined): void {
  const text = String((res?.rows[0] as Record<string, unknown> | undefined)?.['statement_timeout'] ?? '0');
  lane.sessionTimeoutText = text;
  lane.sessionTimeoutMs = parseStatementTimeout(text) ?? 0;
}

/**
 * Reads the session's statement_timeout into `lane` (once per connection). Rejects like any
 * statement run under `ctx`.
 */
export async function readSessionTimeout(lane: Lane, ctx: Context, scope: Scope | undefined): Promise<void> {
  if (lane.sessionTimeoutText !== undefined) return;
  storeSessionTimeout(lane, await lane.run(ctx, sql('SHOW statement_timeout'), scope));
}

/**
 * What a statement that ran under a server-side timeout of ours rejects with: a `57014` from the
 * server becomes the ended context's `ctx.err` (the first in `ctxs` that ended), or, when the
 * server fired before this process's own deadline, a `DeadlineExceededError` whose cause is the
 * server's error. Anything else passes through.
 */
function mapServerTimeout(e: unknown, ctxs: readonly Context[]): unknown {
  if (!isQueryCanceled(e)) return e;
  for (const c of ctxs) if (c.err !== undefined) return c.err;
  return new DeadlineExceededError("@ctxkit/pg: the server stopped the statement at its statement_timeout (the context's deadline)", {
    cause: e,
  });
}

// Job.pending values besides a SET's ms (≥ 1) and RESTORE.
const NONE = 0;
const SHOW = -3;
const STEPPED = -4;

/**
 * @internal The `TimeoutNeed` of a statement: at most one `SHOW statement_timeout` (once per
 * connection) and one `SET` before it, decided by `planTimeout` when the statement is about to
 * start (so statements queued on one client each see what the previous ones left). Subclasses
 * say where the value in force lives and how the budget is found.
 */
export abstract class TimeoutPlanner implements TimeoutNeed {
  /** `SET` or `SET LOCAL`. */
  protected abstract readonly verb: 'SET' | 'SET LOCAL';
  /** The statement's remaining budget (ms), undefined when it has none or it is not wanted. */
  protected abstract budget(job: Job): number | undefined;
  protected abstract inForce(lane: Lane, job: Job): number | undefined;
  protected abstract record(lane: Lane, job: Job, v: number | undefined): void;
  /** False where nothing may be sent (a transaction the caller opened). */
  protected abstract applies(lane: Lane): boolean;
  /** The contexts whose end or deadline the statement obeys. */
  protected abstract contexts(job: Job): Context[];

  step(lane: Lane, job: Job): string | undefined {
    if (job.pending === STEPPED) return undefined;
    const r = this.budget(job);
    const inForce = this.inForce(lane, job);
    if (r === undefined && inForce === undefined) return undefined; // the common no-deadline path
    if (!this.applies(lane)) return undefined;
    if (r !== undefined && lane.sessionTimeoutText === undefined) {
      job.pending = SHOW;
      return 'SHOW statement_timeout';
    }
    const p = planTimeout(inForce, lane.sessionTimeoutMs, r, this.o(job));
    if (p === KEEP) {
      job.armed = r !== undefined && inForce !== undefined;
      return undefined;
    }
    job.pending = p;
    return statementTimeoutSql(this.verb, p, lane.sessionTimeoutText);
  }

  stepDone(lane: Lane, job: Job, err: unknown, res: QueryResult | undefined): void {
    const p = job.pending;
    if (p === SHOW) {
      if (err === undefined) storeSessionTimeout(lane, res);
      job.pending = NONE;
      return;
    }
    // A failed (or cancelled) SET may or may not have taken effect: unknown, SET again next time.
    this.record(lane, job, err !== undefined ? NaN : p === RESTORE ? undefined : p);
    job.armed = p !== RESTORE;
    job.pending = STEPPED;
  }

  mapError(_lane: Lane, job: Job, err: unknown): unknown {
    return job.armed ? mapServerTimeout(err, this.contexts(job)) : err;
  }

  /** The options of the wrapper the job came through. */
  protected abstract o(job: Job): ResolvedOptions;
}

/**
 * @internal The server-side timeout of statements outside transactions (`db.query`,
 * `wrapClient`): a session-level `SET`, left in force. Inside a transaction the caller opened
 * on a wrapped client nothing is sent (a session-level SET there would be undone by ROLLBACK).
 */
export class SessionTimeout extends TimeoutPlanner {
  protected readonly verb = 'SET';
  constructor(private readonly options: ResolvedOptions) {
    super();
  }
  protected o(): ResolvedOptions {
    return this.options;
  }
  protected budget(job: Job): number | undefined {
    return this.options.serverTimeout && job.ctx.deadline !== undefined ? remaining(job.ctx) : undefined;
  }
  protected inForce(lane: Lane): number | undefined {
    return lane.inForceMs;
  }
  protected record(lane: Lane, _job: Job, v: number | undefined): void {
    // A session-level SET that ran inside a transaction is undone by ROLLBACK: unknown then.
    lane.inForceMs = outsideTransaction(lane) ? v : NaN;
  }
  protected applies(lane: Lane): boolean {
    return outsideTransaction(lane);
  }
  protected contexts(job: Job): Context[] {
    return [job.ctx];
  }
}
