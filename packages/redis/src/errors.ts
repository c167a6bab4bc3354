/**
 * Errors specific to @ctxkit/redis. Cancellation itself is never a new class: a command whose
 * context ended rejects with `ctx.err` (check with `isContextError` from @ctxkit/core), and
 * errors from Redis or the client pass through unchanged.
 */

/**
 * The context ended after `EXEC` was written: Redis may or may not have applied the transaction,
 * and this process will not wait to find out. The reply to `EXEC` is still read (so the
 * connection stays in sync) but not delivered. Treat the outcome as unknown: re-read the keys, or
 * make the transaction idempotent. `cause` is the context's error (`ctx.err`).
 */
export class ExecOutcomeUnknownError extends Error {
  constructor(options: { cause: unknown }) {
    super('the context ended after EXEC was written; the transaction may or may not have been applied', options);
  }
  override get name(): string {
    return 'ExecOutcomeUnknownError';
  }
}
