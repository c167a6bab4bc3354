import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  afterFunc,
  background,
  getClock,
  isDeadlineExceeded,
  remaining,
  sleep,
  systemClock,
  withCancel,
  withDeadline,
  withTimeout,
  type Context,
} from '@ctxkit/core';
import { leakCheckAfterAll, useManualClock } from '@ctxkit/testing';

leakCheckAfterAll(after);

/** Records `name` and the clock's time when `ctx` ends. */
function onEnd(ctx: Context, log: string[], name: string): void {
  afterFunc(ctx, () => log.push(`${name}@${getClock().now()}`));
}

test('drives withTimeout/withDeadline deadlines in deadline order, now() at each due time', async () => {
  const clock = useManualClock(1_000);
  try {
    const log: string[] = [];
    const a = withTimeout(background(), 300);
    const b = withTimeout(background(), 100);
    const c = withDeadline(background(), 1_200);
    const d = withTimeout(background(), 100); // same deadline as b: fires with it
    onEnd(a.ctx, log, 'a');
    onEnd(b.ctx, log, 'b');
    onEnd(c.ctx, log, 'c');
    onEnd(d.ctx, log, 'd');
    assert.equal(remaining(a.ctx), 300);

    await clock.advance(99);
    assert.deepEqual(log, []);
    assert.equal(b.ctx.err, undefined);
    assert.equal(clock.now(), 1_099);

    await clock.advance(150);
    assert.deepEqual(log, ['b@1100', 'd@1100', 'c@1200']);
    assert.ok(isDeadlineExceeded(b.ctx.err));
    assert.equal(a.ctx.err, undefined);
    assert.equal(remaining(a.ctx), 51);
    assert.equal(clock.now(), 1_249);

    await clock.advance(51);
    assert.deepEqual(log, ['b@1100', 'd@1100', 'c@1200', 'a@1300']);
    assert.ok(isDeadlineExceeded(a.ctx.err));
    for (const s of [a, b, c, d]) s.cancel();
    assert.equal(clock.pending(), 0, 'no deadline timer left on the manual clock');
  } finally {
    clock.restore();
  }
});

test('sleep resolves on advance; promise chains settle before advance returns, interleaved with deadlines', async () => {
  const clock = useManualClock(0);
  try {
    const log: string[] = [];
    const scope = withTimeout(background(), 25);
    onEnd(scope.ctx, log, 'deadline');
    const worker = (async () => {
      for (let i = 1; i <= 3; i++) {
        await sleep(background(), 10);
        log.push(`tick${i}@${getClock().now()}`);
      }
    })();
    const other = sleep(scope.ctx, 100).then(
      () => log.push('other resolved'),
      (e: unknown) => log.push(`other rejected ${(e as Error).name}@${getClock().now()}`),
    );
    await clock.advance(40);
    assert.deepEqual(log, ['tick1@10', 'tick2@20', 'deadline@25', 'other rejected TimeoutError@25', 'tick3@30']);
    await worker;
    await other;
    scope.cancel();
    assert.equal(clock.pending(), 0);
  } finally {
    clock.restore();
  }
});

test('timers due at the same time fire in scheduling order; advance(0) fires what is due now', async () => {
  const clock = useManualClock(0);
  try {
    const log: number[] = [];
    for (let i = 0; i < 5; i++) void sleep(background(), 0).then(() => log.push(i));
    assert.equal(clock.pending(), 5);
    await Promise.resolve();
    assert.deepEqual(log, [], 'nothing fires by itself');
    await clock.advance(0);
    assert.deepEqual(log, [0, 1, 2, 3, 4]);
    assert.equal(clock.pending(), 0);
  } finally {
    clock.restore();
  }
});

test('next() jumps to the earliest timer; nextDue() and pending() describe the queue', async () => {
  const clock = useManualClock(500);
  try {
    const scope = withCancel(background());
    let done = false;
    const p = sleep(scope.ctx, 70).then(() => {
      done = true;
    });
    assert.equal(clock.nextDue(), 570);
    assert.equal(clock.pending(), 1);
    assert.equal(await clock.next(), true);
    assert.equal(done, true);
    assert.equal(clock.now(), 570);
    assert.equal(await clock.next(), false);
    await p;
    scope.cancel();
  } finally {
    clock.restore();
  }
});

test('concurrent advance calls run one after the other', async () => {
  const clock = useManualClock(0);
  try {
    const log: string[] = [];
    void sleep(background(), 15).then(() => log.push(`a@${getClock().now()}`));
    void sleep(background(), 5).then(() => log.push(`b@${getClock().now()}`));
    await Promise.all([clock.advance(10), clock.advance(10)]);
    assert.deepEqual(log, ['b@5', 'a@15']);
    assert.equal(clock.now(), 20);
  } finally {
    clock.restore();
  }
});

test('cancelling a sleeping context clears its manual timer', async () => {
  const clock = useManualClock(0);
  try {
    const scope = withCancel(background());
    const p = sleep(scope.ctx, 1_000);
    assert.equal(clock.pending(), 1);
    scope.cancel();
    await assert.rejects(p, { name: 'AbortError' });
    assert.equal(clock.pending(), 0);
  } finally {
    clock.restore();
  }
});

test('restore() puts the system clock back and moves pending timers to real timers', async () => {
  const clock = useManualClock(0);
  const p = sleep(background(), 1);
  assert.equal(clock.pending(), 1);
  clock.restore();
  clock.restore(); // idempotent
  assert.equal(getClock(), systemClock);
  assert.equal(clock.pending(), 0);
  await p; // fires on a real timer now
  await assert.rejects(clock.advance(1), /restored/);
});

test('deadlines queued before installing move onto the manual clock and back', async () => {
  const scope = withTimeout(background(), 60_000);
  const clock = useManualClock();
  try {
    assert.equal(clock.pending(), 1, 'the shared deadline timer re-armed on the manual clock');
    await clock.advance(60_000);
    assert.ok(isDeadlineExceeded(scope.ctx.err));
  } finally {
    clock.restore();
    scope.cancel();
  }
});

test('a timer callback that throws rejects advance with its error', async () => {
  const clock = useManualClock(0);
  try {
    getClock().setTimer(
      () => {
        throw new Error('boom');
      },
      5,
      false,
    );
    await assert.rejects(clock.advance(10), /boom/);
    assert.equal(clock.now(), 5);
  } finally {
    clock.restore();
  }
});

test('bad input gets a clear error', async () => {
  assert.throws(() => useManualClock(Number.NaN), /startEpochMs must be a finite number/);
  const clock = useManualClock(0);
  try {
    await assert.rejects(clock.advance(-1), /ms must be a finite number >= 0, got -1/);
    await assert.rejects(clock.advance(Infinity), /got Infinity/);
    await assert.rejects(clock.advance('5' as unknown as number), TypeError);
  } finally {
    clock.restore();
  }
});
