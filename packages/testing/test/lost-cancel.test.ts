// The lost-cancel test lives in its own file without a file-level leak check: a file-level tracker
// would (rightly) report the scope this test loses on purpose.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { background, withCancel, withTimeout, type Context } from '@ctxkit/core';
import { LeakError, trackContexts } from '@ctxkit/testing';

/** Makes a child of `parent` and drops its scope without calling cancel (the bug). */
function loseCancel(parent: Context): void {
  withTimeout(parent, 60_000);
}

/** Makes a child and keeps its scope: not lost (yet), only live. */
function keepScope(parent: Context): { cancel(): void } {
  return withCancel(parent);
}

test('lost cancel: a scope garbage-collected without cancel() while its parent is live is reported', async () => {
  assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'function', 'tests must run with --expose-gc (scripts/test.mjs does)');
  const parent = withCancel(background());
  const tracker = trackContexts();
  let kept: { cancel(): void } | undefined;
  try {
    loseCancel(parent.ctx);
    kept = keepScope(parent.ctx);
    const err = await tracker.checkSettled().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof LeakError, 'checkSettled must reject');
    assert.equal(err.report.lostCancel.length, 1);
    const lost = err.report.lostCancel[0]!;
    assert.equal(lost.origin, 'timeout');
    assert.equal(lost.ctx.err, undefined, 'the context itself is still linked to its parent, live');
    assert.match(lost.stack, /at loseCancel .*lost-cancel\.test\.ts/);
    assert.match(err.message, /lost cancel: the scope from withTimeout was garbage-collected without cancel\(\)/);
    assert.equal(err.report.live.length, 1, 'the kept scope is reported as live, not lost');
  } finally {
    kept?.cancel();
    parent.cancel();
    tracker.stop();
  }
});

test('a dropped scope whose parent ended before the collection is still a lost cancel (endedWithParent)', async () => {
  const parent = withCancel(background());
  const tracker = trackContexts();
  try {
    loseCancel(parent.ctx);
    parent.cancel(); // e.g. a server context shut down by an after hook that runs before the check
    const err = await tracker.checkSettled().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof LeakError, 'checkSettled must reject');
    assert.equal(err.report.lostCancel.length, 1);
    assert.equal(err.report.lostCancel[0]!.endedWithParent, true);
    assert.equal(err.report.live.length, 0, 'reported once, as lost');
    assert.match(
      err.message,
      /lost cancel: the scope from withTimeout was garbage-collected without cancel\(\); its context stayed live until its parent ended/,
    );
  } finally {
    tracker.stop();
  }
});
