/**
 * @ctxkit/pg — node-postgres bound to contexts: ending a context stops the statement inside
 * PostgreSQL (CancelRequest), rolls back its transaction, and returns a healthy connection (or
 * destroys it). Deadlines are also enforced by the server as `statement_timeout`.
 *
 * Rules of use:
 * - Pass `ctx` first to every call; a call on an ended context rejects with `ctx.err` and
 *   touches nothing.
 * - One check covers every cancellation: `isContextError(e)` from @ctxkit/core. Other server
 *   errors pass through unchanged (SQLSTATE in `e.code`).
 * - A statement outside a transaction that is cancelled may still have taken effect (as when a
 *   network fails); put writes that must be all-or-nothing in `db.transaction`.
 * - Do not BEGIN/COMMIT by hand through `db.query`: use `db.transaction`.
 * - Transaction and savepoint handles are valid only inside their callback.
 */
export { wrapPool, type Db } from './pool.js';
export { wrapClient, type WrappedClient } from './client.js';
export type { Queryable } from './query-config.js';
export type { Tx, TransactionOptions, IsolationLevel } from './transaction.js';
export type { PgOptions } from './options.js';
export { CommitOutcomeUnknownError, TransactionRolledBackError } from './errors.js';
