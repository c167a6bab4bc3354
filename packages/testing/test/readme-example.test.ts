// The node:test example of the README, verbatim (keep them in sync).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { background, sleep, withTimeout, type Context } from '@ctxkit/core';
import { assertCancellationSafe, expectCanceled, leakCheckAfterAll, useManualClock } from '@ctxkit/testing';

leakCheckAfterAll(after); // the whole file: no live context, lost cancel or zombie work at the end

// The code under test: fetch with a per-attempt deadline, retrying with a back-off.
async function fetchWithRetry(ctx: Context, attempt: (ctx: Context) => Promise<string>): Promise<string> {
  for (let i = 0; ; i++) {
    const scope = withTimeout(ctx, 1_000);
    try {
      return await attempt(scope.ctx);
    } catch (e) {
      if (ctx.err !== undefined || i === 2) throw ctx.err ?? e;
    } finally {
      scope.cancel();
    }
    await sleep(ctx, 100 * 2 ** i);
  }
}

test('each attempt gets 1 s, then backs off 100 ms, 200 ms', async () => {
  const clock = useManualClock();
  try {
    let attempts = 0;
    const slow = async (ctx: Context): Promise<string> => {
      attempts++;
      await sleep(ctx, 5_000); // never answers in time
      return 'late';
    };
    using scope = withTimeout(background(), 3_000); // cancelled on every path, as the linter asks
    const result = expectCanceled(fetchWithRetry(scope.ctx, slow), scope.ctx);
    await clock.advance(1_000 + 100); // attempt 1 times out, back-off 100 ms
    assert.equal(attempts, 2);
    await clock.advance(1_000 + 200); // attempt 2 times out, back-off 200 ms
    assert.equal(attempts, 3);
    await clock.advance(700); // the caller's 3 s deadline ends attempt 3
    const err = await result;
    assert.equal(err.name, 'TimeoutError');
  } finally {
    clock.restore();
  }
});

test('fetchWithRetry is cancellation-safe at every point', async () => {
  const result = await assertCancellationSafe((ctx) => {
    let calls = 0;
    return fetchWithRetry(ctx, async (attemptCtx) => {
      await sleep(attemptCtx, 1);
      if (calls++ === 0) throw new Error('connection reset'); // the first attempt fails
      return 'ok';
    });
  });
  assert.equal(result.points, 3); // attempt 1, the back-off, attempt 2
});
