import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { CanceledError, background, sleep, withCancel, withTimeout } from '@ctxkit/core';
import { expectCanceled, leakCheckAfterAll, useManualClock } from '@ctxkit/testing';

leakCheckAfterAll(after);

test('resolves with the context error when the promise rejects with exactly ctx.err', async () => {
  const scope = withCancel(background());
  const p = sleep(scope.ctx, 60_000);
  scope.cancel('shutdown');
  const err = await expectCanceled(p, scope.ctx);
  assert.equal(err, scope.ctx.err);
  assert.equal(err.cause, 'shutdown');
});

test('accepts a function returning the promise, and deadline errors', async () => {
  const clock = useManualClock(0);
  try {
    const scope = withTimeout(background(), 10);
    const result = expectCanceled(() => sleep(scope.ctx, 1_000));
    await clock.advance(10);
    assert.equal((await result).name, 'TimeoutError');
    scope.cancel();
  } finally {
    clock.restore();
  }
});

test('accepts the platform AbortError when no ctx is given', async () => {
  const ac = new AbortController();
  ac.abort();
  await expectCanceled(Promise.reject(ac.signal.reason));
});

test('fails when the promise resolves', async () => {
  await assert.rejects(expectCanceled(Promise.resolve({ rows: 3 })), /but the promise resolved with \[object Object\]/);
});

test('fails, keeping the cause, when the promise rejects with another error', async () => {
  const boom = new TypeError('boom');
  await assert.rejects(expectCanceled(Promise.reject(boom)), (e: unknown) => {
    assert.match((e as Error).message, /expected a context error, but the promise rejected with TypeError: boom/);
    assert.equal((e as Error).cause, boom);
    return true;
  });
});

test('with ctx: fails when ctx has not ended or the error is not ctx.err itself', async () => {
  const scope = withCancel(background());
  await assert.rejects(expectCanceled(Promise.reject(new CanceledError()), scope.ctx), /the given ctx has not ended/);
  scope.cancel();
  await assert.rejects(expectCanceled(Promise.reject(new CanceledError()), scope.ctx), /expected exactly ctx.err/);
});

test('bad arguments get a clear error', async () => {
  await assert.rejects(expectCanceled(42 as never), /expected a promise \(or a function returning one\), got 42/);
  await assert.rejects(expectCanceled(Promise.resolve(), {} as never), /ctx must be a Context/);
});
