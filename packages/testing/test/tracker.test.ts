import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { background, sleep, withCancel, withTimeout, withValue, withoutCancel, createKey } from '@ctxkit/core';
import { LeakError, leakCheckAfterAll, trackContexts } from '@ctxkit/testing';

// Dogfood: this file ends with a leak check of its own. Every deliberate leak below is cleaned up
// at the end of its test, so the file-level check must pass.
leakCheckAfterAll(after);

const THIS_FILE = 'tracker.test.ts';

test('live: a cancellable context never cancelled is reported with where it was created', () => {
  const tracker = trackContexts();
  try {
    const forgotten = withTimeout(background(), 60_000);
    const fine = withCancel(background());
    fine.cancel();
    const r = tracker.report();
    assert.equal(r.live.length, 1);
    assert.equal(r.live[0]!.ctx, forgotten.ctx);
    assert.equal(r.live[0]!.origin, 'timeout');
    assert.match(r.live[0]!.stack, new RegExp(THIS_FILE));
    assert.doesNotMatch(r.live[0]!.stack, /packages\/core\//, 'core frames are trimmed');
    assert.throws(
      () => tracker.check(),
      (e: unknown) => {
        assert.ok(e instanceof LeakError);
        assert.match(e.message, /1 leak found/);
        assert.match(e.message, /live context: made by withTimeout and never ended/);
        assert.match(e.message, new RegExp(`created at:\\n\\s+at .*${THIS_FILE}`));
        assert.equal(e.report.live.length, 1);
        return true;
      },
    );
    forgotten.cancel();
    tracker.check();
  } finally {
    tracker.stop();
  }
});

test('a child that ended only because its parent did, its cancel() never called, is reported (endedWithParent)', () => {
  const tracker = trackContexts();
  try {
    const parent = withCancel(background());
    const child = withTimeout(withValue(parent.ctx, createKey<number>('n'), 1), 1_000);
    const detached = withoutCancel(child.ctx);
    assert.equal(tracker.report().live.length, 2);
    parent.cancel();
    assert.equal(child.ctx.err, parent.ctx.err);
    assert.equal(detached.err, undefined, 'withoutCancel nodes are not scopes');
    const r = tracker.report();
    assert.equal(r.live.length, 1);
    assert.equal(r.live[0]!.ctx, child.ctx);
    assert.equal(r.live[0]!.endedWithParent, true);
    assert.throws(
      () => tracker.check(),
      /never cancelled: made by withTimeout, its scope's cancel\(\) was never called; it stayed live until its parent ended/,
    );
    child.cancel(); // late, but called: the owner did its part
    tracker.check();
  } finally {
    tracker.stop();
  }
});

test('a scope cancelled after its parent ended it (the usual finally), or disposed by using, is not a leak', async () => {
  const tracker = trackContexts();
  try {
    const request = withCancel(background());
    const attempt = withTimeout(request.ctx, 60_000);
    try {
      const p = sleep(attempt.ctx, 60_000);
      request.cancel(); // the client went away mid-attempt
      await assert.rejects(p, { name: 'AbortError' });
    } finally {
      attempt.cancel();
    }
    const parent = withCancel(background());
    {
      using child = withCancel(parent.ctx);
      parent.cancel();
      assert.notEqual(child.ctx.err, undefined);
    }
    tracker.check();
    assert.equal(Object.keys(attempt).includes('cancel'), false, 'observing cancel() adds no enumerable property');
  } finally {
    tracker.stop();
  }
});

test('a child that ended by its own deadline released everything: not a leak', async () => {
  const tracker = trackContexts();
  const parent = withCancel(background());
  try {
    const child = withTimeout(parent.ctx, 1);
    await child.ctx.done;
    parent.cancel();
    tracker.check();
  } finally {
    parent.cancel();
    tracker.stop();
  }
});

test('contexts created before tracking began, or after stop(), are not reported', () => {
  const before = withCancel(background());
  const tracker = trackContexts();
  tracker.stop();
  const afterStop = withCancel(background());
  try {
    tracker.check();
  } finally {
    before.cancel();
    afterStop.cancel();
  }
});

test('under: only contexts created in that tree are considered', () => {
  const root = withCancel(background());
  const tracker = trackContexts({ under: root.ctx });
  const outside = withCancel(background());
  const inside = withCancel(withValue(root.ctx, createKey<string>('k'), 'v'));
  try {
    const live = tracker.report().live;
    assert.deepEqual(
      live.map((l) => l.ctx),
      [inside.ctx],
    );
  } finally {
    tracker.stop();
    inside.cancel();
    outside.cancel();
    root.cancel();
  }
});

test('stacks: false reports leaks without capturing stacks', () => {
  const tracker = trackContexts({ stacks: false });
  const scope = withCancel(background());
  try {
    assert.equal(tracker.report().live[0]!.stack, '');
    assert.throws(() => tracker.check(), /created at: no stack captured/);
  } finally {
    scope.cancel();
    tracker.stop();
  }
});

test('leakCheckAfterAll registers an async check with the given hook and stops tracking after it', async () => {
  let hook: (() => Promise<void>) | undefined;
  const tracker = leakCheckAfterAll((fn) => {
    hook = fn;
  });
  assert.equal(typeof hook, 'function');
  const scope = withCancel(background());
  await assert.rejects(hook!(), LeakError);
  scope.cancel();
  const later = withCancel(background()); // after the hook ran: tracker stopped
  tracker.check();
  later.cancel();
  assert.throws(() => leakCheckAfterAll(undefined as never), /pass your test framework's after-all hook/);
});

test('bad options get a clear error', () => {
  assert.throws(() => trackContexts({ graceMs: -1 }), /graceMs must be a finite number >= 0, got -1/);
  assert.throws(() => trackContexts({ under: {} as never }), /under must be a Context/);
  assert.throws(() => trackContexts(null as never), /options must be an object/);
});
