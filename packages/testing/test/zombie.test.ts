// Zombie work lives in its own file without a file-level leak check: work that goes on past its
// context's end is reported even once it has settled, so a file-level tracker would (rightly)
// report the zombies these tests make on purpose.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { background, createKey, sleep, startOperation, withCancel, withValue } from '@ctxkit/core';
import { LeakError, track, trackContexts } from '@ctxkit/testing';

const THIS_FILE = 'zombie.test.ts';

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

test('zombie work: tracked work still pending graceMs after its context ended is reported with its label', async () => {
  const tracker = trackContexts({ graceMs: 10 });
  const work = deferred();
  try {
    const scope = withCancel(background());
    const tracked = track(scope.ctx, work.promise, 'upload to s3');
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
    work.resolve();
    await tracked;
    // Settled at last, but late: still reported, now as work that ran on.
    const late = tracker.report().zombieWork;
    assert.equal(late.length, 1);
    assert.equal(late[0]!.settled, true);
    assert.ok((late[0]!.pendingMs ?? 0) >= 10);
  } finally {
    work.resolve();
    tracker.stop();
  }
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

test('zombie work that settled, but graceMs or more after its context ended, is still reported', async () => {
  const tracker = trackContexts({ graceMs: 20 });
  try {
    const scope = withCancel(background());
    const work = track(scope.ctx, new Promise<void>((resolve) => setTimeout(resolve, 60)), 'slow upload');
    scope.cancel();
    await work; // settles 60 ms after the cancel: before any check looks
    const ok = withCancel(background());
    const quick = deferred();
    const fine = track(ok.ctx, quick.promise, 'quick');
    ok.cancel();
    quick.resolve(); // settles within the grace period: fine
    await fine;
    const r = tracker.report();
    assert.equal(r.zombieWork.length, 1);
    const z = r.zombieWork[0]!;
    assert.equal(z.label, 'slow upload');
    assert.equal(z.settled, true);
    assert.ok((z.pendingMs ?? 0) >= 20);
    assert.match(z.stack, new RegExp(THIS_FILE));
    await assert.rejects(
      tracker.checkSettled(),
      /zombie work: 'slow upload' ran \d+ ms after its context ended before it settled\n\s+started at:/,
    );
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
    await assert.rejects(tracker.checkSettled(), /zombie work: 'redis.get' still running/);
    op.end(scope.ctx.err);
    await assert.rejects(tracker.checkSettled(), /zombie work: 'redis.get' ran \d+ ms after its context ended before it settled/);
  } finally {
    tracker.stop();
  }
});

test('track is an operation: it fails fast on an ended ctx, and waits for the work when ctx ends first', async () => {
  const ended = withCancel(background());
  ended.cancel();
  const never = deferred<number>();
  await assert.rejects(track(ended.ctx, never.promise, 'late'), (e: unknown) => e === ended.ctx.err);

  const tracker = trackContexts({ graceMs: 0 });
  try {
    const scope = withCancel(background());
    const work = deferred<number>();
    let settled = false;
    const tracked = track(scope.ctx, work.promise, 'runs on').finally(() => {
      settled = true;
    });
    scope.cancel();
    await Promise.resolve();
    assert.equal(settled, false, 'track cannot stop the work: it waits for it');
    assert.deepEqual(
      tracker.report().zombieWork.map((z) => z.label),
      ['runs on'],
    );
    work.resolve(7);
    assert.equal(await tracked, 7, 'a value the work still delivers is returned');

    const failing = withCancel(background());
    const w2 = deferred<number>();
    const t2 = track(failing.ctx, w2.promise, 'fails on');
    failing.cancel();
    w2.reject(new Error('connection reset'));
    await assert.rejects(t2, (e: unknown) => e === failing.ctx.err, 'an error it delivers becomes ctx.err');
  } finally {
    tracker.stop();
  }
});
