/**
 * Errors specific to @ctxkit/pg, and the checks that classify errors coming out of node-postgres.
 *
 * Rules of use:
 * - A call that ran out of context rejects with `ctx.err` itself (check with `isContextError`).
 * - Errors sent by the server (`pg.DatabaseError`, with a five-character SQLSTATE in `code`) pass
 *   through unchanged, except `57014 query_canceled` caused by this package's own cancel request
 *   or statement_timeout, which becomes the context error.
 * - Only the two classes below are new: both mean "the transaction is over"; they differ in what
 *   the caller knows about its outcome.
 */

/**
 * The connection failed while COMMIT was in flight: the server may or may not have committed the
 * transaction. Nothing in this process can tell; the caller must find out (e.g. read back a row
 * written by the transaction, or make the work idempotent and retry). `cause` is the error
 * node-postgres reported. The connection has been destroyed.
 */
export class CommitOutcomeUnknownError extends Error {
  constructor(cause: unknown) {
    super('@ctxkit/pg: the connection failed during COMMIT; the transaction may or may not have been committed', { cause });
  }
  override get name(): string {
    return 'CommitOutcomeUnknownError';
  }
}

/**
 * The transaction's callback returned normally, but the server had already aborted the
 * transaction (a statement in it failed and the callback caught the error), so COMMIT rolled it
 * back. Nothing was committed.
 */
export class TransactionRolledBackError extends Error {
  constructor() {
    super(
      '@ctxkit/pg: the transaction was rolled back: a statement in it failed (the callback caught the error), so COMMIT could not commit',
    );
  }
  override get name(): string {
    return 'TransactionRolledBackError';
  }
}

/** @internal True for an ErrorResponse sent by the server (pg's DatabaseError). */
export function isServerError(e: unknown): e is Error & { code: string; severity: string } {
  if (typeof e !== 'object' || e === null) return false;
  const { code, severity } = e as { code?: unknown; severity?: unknown };
  return typeof code === 'string' && code.length === 5 && typeof severity === 'string';
}

/**
 * @internal True when, after a statement failed with `e`, the connection must not be reused:
 * a FATAL/PANIC server error (the server ends the session); node-postgres marked the client
 * unqueryable (socket error or unexpected end; pg-pool reads the same two fields); or any error
 * that did not come from the server (e.g. pg's `query_timeout`, which gives up locally while the
 * statement keeps running) — the connection's state is then unknown. An ordinary server ERROR
 * leaves the connection in a known state.
 */
export function isConnectionFailure(e: unknown, client: object): boolean {
  if (!isServerError(e)) return true;
  if (e.severity === 'FATAL' || e.severity === 'PANIC') return true;
  const c = client as { _queryable?: unknown; _ending?: unknown };
  return c._queryable === false || c._ending === true;
}

/** @internal SQLSTATE 57014: the statement was cancelled (cancel request or statement_timeout). */
export function isQueryCanceled(e: unknown): boolean {
  return isServerError(e) && e.code === '57014';
}

/**
 * @internal The transaction status of the last ReadyForQuery ('I' idle, 'T' in a transaction,
 * 'E' in a failed transaction), or null when this pg version does not expose it.
 */
export function txStatus(client: object): 'I' | 'T' | 'E' | null {
  const c = client as { getTransactionStatus?: () => unknown; _txStatus?: unknown };
  const s = typeof c.getTransactionStatus === 'function' ? c.getTransactionStatus() : c._txStatus;
  return s === 'I' || s === 'T' || s === 'E' ? s : null;
}
