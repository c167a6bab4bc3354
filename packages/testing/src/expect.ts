/**
 * Assertions about cancellation, independent of any test framework (they throw plain `Error`s
 * with a readable message, which every runner reports as a failure).
 */
import { assertContext, isContextError, type Context, type ContextError } from '@ctxkit/core';

function show(v: unknown): string {
  if (v instanceof Error) return `${v.name}: ${v.message}`;
  if (typeof v === 'string') return JSON.stringify(v);
  try {
    return String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

/**
 * Resolves with the error when `promise` (or the promise `fn()` returns) rejects with a context
 * error (`isContextError`: `CanceledError`, `DeadlineExceededError`, or the platform's
 * AbortError/TimeoutError); with `ctx`, the rejection must be exactly `ctx.err` (the identity
 * integrations promise). Otherwise rejects with an `Error` saying what happened instead: it
 * resolved, it rejected with another error (kept as `cause`), or `ctx` has not ended.
 */
export async function expectCanceled(promise: PromiseLike<unknown> | (() => PromiseLike<unknown>), ctx?: Context): Promise<ContextError> {
  if (ctx !== undefined) assertContext(ctx, 'expectCanceled: ctx');
  let p: PromiseLike<unknown>;
  if (typeof promise === 'function') {
    try {
      p = promise();
    } catch (e) {
      p = Promise.reject(e);
    }
  } else {
    p = promise;
  }
  if (p === null || (typeof p !== 'object' && typeof p !== 'function') || typeof (p as PromiseLike<unknown>).then !== 'function') {
    throw new TypeError(`expectCanceled: expected a promise (or a function returning one), got ${show(p)}`);
  }
  let value: unknown;
  try {
    value = await p;
  } catch (e) {
    if (!isContextError(e)) {
      throw new Error(`expectCanceled: expected a context error, but the promise rejected with ${show(e)}`, { cause: e });
    }
    if (ctx !== undefined) {
      if (ctx.err === undefined) {
        throw new Error(`expectCanceled: the promise rejected with ${show(e)}, but the given ctx has not ended`, { cause: e });
      }
      if (e !== ctx.err) {
        throw new Error(`expectCanceled: expected exactly ctx.err (${show(ctx.err)}), got another context error (${show(e)})`, {
          cause: e,
        });
      }
    }
    return e as ContextError;
  }
  throw new Error(`expectCanceled: expected a rejection with a context error, but the promise resolved with ${show(value)}`);
}
