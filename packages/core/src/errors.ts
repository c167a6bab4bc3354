/**
 * The two errors a context can end with, and the checks that recognise them.
 *
 * Rules of use:
 * - `ctx.err` is always one of these two classes once a context has ended, and `undefined` before.
 * - Integrations reject with `ctx.err` itself, so one `isContextError(e)` check covers every
 *   source of cancellation (as Go's `errors.Is(err, context.Canceled)`).
 * - The names follow the platform: `CanceledError` is named `AbortError`, `DeadlineExceededError`
 *   is named `TimeoutError`, so code written for `AbortSignal` recognises them too.
 */

/**
 * The context was cancelled: its scope's `cancel()` was called, its parent was cancelled, or the
 * signal it was made from aborted. `name` is `'AbortError'`. When a cause was given, it is
 * `error.cause` (and `cause(ctx)`).
 */
export class CanceledError extends Error {
  constructor(message = 'context canceled', options?: { cause?: unknown }) {
    super(message, options);
  }
  override get name(): string {
    return 'AbortError';
  }
}

/**
 * The context's deadline passed (its own or an ancestor's). `name` is `'TimeoutError'`. When a
 * cause was given to `withTimeout`/`withDeadline`, it is `error.cause` (and `cause(ctx)`).
 */
export class DeadlineExceededError extends Error {
  constructor(message = 'context deadline exceeded', options?: { cause?: unknown }) {
    super(message, options);
  }
  override get name(): string {
    return 'TimeoutError';
  }
}

/** The error kinds a context can end with. */
export type ContextError = CanceledError | DeadlineExceededError;

function hasName(e: unknown, name: string): boolean {
  return (
    typeof e === 'object' &&
    e !== null &&
    (e as { name?: unknown }).name === name &&
    typeof DOMException !== 'undefined' &&
    e instanceof DOMException
  );
}

/**
 * True for a `CanceledError`, and for the platform's `AbortError` DOMException (what
 * `AbortController.abort()` without a reason produces).
 */
export function isCanceled(e: unknown): boolean {
  return e instanceof CanceledError || hasName(e, 'AbortError');
}

/**
 * True for a `DeadlineExceededError`, and for the platform's `TimeoutError` DOMException (what
 * `AbortSignal.timeout()` produces).
 */
export function isDeadlineExceeded(e: unknown): boolean {
  return e instanceof DeadlineExceededError || hasName(e, 'TimeoutError');
}

/** True when `e` is any context ending: `isCanceled(e) || isDeadlineExceeded(e)`. */
export function isContextError(e: unknown): boolean {
  return isCanceled(e) || isDeadlineExceeded(e);
}
