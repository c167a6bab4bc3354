/**
 * The timeout planner: pure rules (no I/O, no state) turning a statement's remaining budget and
 * the `statement_timeout` in force into what to send before it. statement-timeout.ts applies
 * them to connections and transactions; this module only decides.
 *
 * The window: a statement with remaining budget R may run under any value T with
 * R + margin ≤ T ≤ R + margin + slack, slack = max(ratio × R, slackMs) (`PgOptions`). When the
 * value in force lies in the window, nothing is sent (`KEEP`); otherwise one `SET` to the middle
 * of the window precedes the statement. A statement without a deadline (or with one beyond what
 * `statement_timeout` can hold) needs the session's own value (`RESTORE` when another is in
 * force). A session value at least as strict as R + margin is never raised.
 *
 * Invariants (checked by test/timeout-plan.test.ts): whatever `planTimeout` returns, the value
 * in force once it has been applied lies in the statement's window, or is the session's own value
 * when the statement has no deadline or the session's value is the stricter one.
 */
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
export const MAX_TIMEOUT_MS = 2_147_483_647;

/** `planTimeout`: the value in force fits the statement; send nothing. */
export const KEEP = -1;
/** `planTimeout`: the session's own value must be in force; send a `SET` back to it. */
export const RESTORE = -2;

/**
 * The statement that puts a `statement_timeout` in force: `verb` is `SET` (the
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
