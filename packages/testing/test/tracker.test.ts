import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { background, sleep, startOperation, withCancel, withTimeout, withValue, withoutCancel, createKey } from '@ctxkit/core';
import { LeakError, leakCheckAfterAll, track, trackContexts } from '@ctxkit/testing';

// Dogfood: this file ends with a leak check of its own. Every deliberate leak below is cleaned up
// at the end of its test, so the file-level check must pass.
leakCheckAfterAll(after);

const THIS_FILE = 'tracker.test.ts';

/** A promise the test settles by hand. */
function deferred<T = void>(): { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

test('live: a cancellable context never cancelled is reported with where it was created', () => {
  const tracker = trackContexts();
  try {
    const forgotten = withTimeout(background(), 60_000);
    const fine = withCancel(background());
    fine.cancel();
    const r = tracker.report();
    assert.equal(r.live.length, 1);
    assert.equal(r.live[0]!.ctx, forgotten.ctx);
    assert.equal(r.live[0]!.contextKind, 'timeout');
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

test('descendants ended through their parent are not live; value and withoutCancel nodes are not scopes', () => {
  const tracker = trackContexts();
  try {
    const parent = withCancel(background());
    const child = withTimeout(withValue(parent.ctx, createKey<number>('n'), 1), 1_000);
    const detached = withoutCancel(child.ctx);
    assert.equal(tracker.report().live.length, 2);
    parent.cancel();
    assert.equal(child.ctx.err !== undefined, true);
    assert.equal(detached.err, undefined);
    tracker.check();
  } finally {
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
    outside.cancel();
    root.cancel();
  }
});

test('zombie work: tracked work still pending graceMs after its context ended is reported with its label', async () => {
  const tracker = trackContexts({ graceMs: 10 });
  const work = deferred();
  try {
    const scope = withCancel(background());
    void track(scope.ctx, work.promise, 'upload to s3');
    scope.cancel();
    await assert.rejects(tracker.checkSettled(), (e: unknown) => {
      assert.ok(e instanceof LeakError);
      assert.equal(e.report.zombieWork.length, 1);
      const z = e.report.zombieWork[0]!;
      assert.equal(z.label, 'upload to s3');
      assert.equal(z.ctx, scope.ctx);
      assert.ok((z.pendingMs ?? 0) >= 10);
      assert.match(z.stack, new RegExp(THIS_FILE));
      assert.match(e.message, /zombie work: 'upload to s3' still running \d+ ms after its context ended\n\s+started at:/);
      return true;
    });
  } finally {
    work.resolve();
    await Promise.resolve();
    tracker.stop();
  }
  tracker.check(); // settled: no longer a zombie
});

test('zombie work under a value child of an ended context is found too', async () => {
  const tracker = trackContexts({ graceMs: 0 });
  const work = deferred();
  try {
    const scope = withCancel(background());
    void track(withValue(scope.ctx, createKey<number>('x'), 1), work.promise, 'job');
    assert.equal(tracker.report().zombieWork.length, 0, 'running under a live context is not zombie work');
    scope.cancel();
    const r = tracker.report();
    assert.deepEqual(
      r.zombieWork.map((z) => z.label),
      ['job'],
    );
  } finally {
    work.resolve();
    tracker.stop();
  }
});

test('work that stops within the grace period is not zombie work; checkSettled waits for it', async () => {
  const tracker = trackContexts({ graceMs: 60_000 });
  try {
    const scope = withCancel(background());
    const work = deferred();
    const tracked = track(scope.ctx, work.promise, 'query');
    scope.cancel();
    const check = tracker.checkSettled();
    work.reject(scope.ctx.err); // the far side stopped and reported the cancellation
    await assert.rejects(tracked, { name: 'AbortError' });
    await check;
  } finally {
    tracker.stop();
  }
});

test('core operations that honour cancellation (sleep) leave no zombie', async () => {
  const tracker = trackContexts({ graceMs: 0 });
  try {
    const scope = withCancel(background());
    const p = sleep(scope.ctx, 60_000);
    scope.cancel();
    await assert.rejects(p, { name: 'AbortError' });
    await tracker.checkSettled();
  } finally {
    tracker.stop();
  }
});

test('track returns a promise settling like the work, and keeps unhandled rejections visible', async () => {
  const ctx = background();
  assert.equal(await track(ctx, Promise.resolve(42), 'answer'), 42);
  assert.equal(await track(ctx, 7, 'plain value'), 7);
  const boom = new Error('boom');
  await assert.rejects(track(ctx, Promise.reject(boom), 'fails'), (e: unknown) => e === boom);
  assert.throws(() => track(undefined as never, Promise.resolve(), 'x'), /track: ctx must be a Context/);
  assert.throws(() => track(ctx, Promise.resolve(), 5 as never), /label must be a string, got number/);
});

test('operations reported by integrations through startOperation are tracked like track()', async () => {
  const tracker = trackContexts({ graceMs: 0 });
  const scope = withCancel(background());
  const op = startOperation(scope.ctx, 'redis.get');
  scope.cancel();
  try {
    await assert.rejects(tracker.checkSettled(), /zombie work: 'redis.get'/);
    op.end(scope.ctx.err);
    await tracker.checkSettled();
  } finally {
    tracker.stop();
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
