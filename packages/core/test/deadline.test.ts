import { describe, test, afterEach, beforeEach, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  background,
  withCancel,
  withTimeout,
  withDeadline,
  withValue,
  withoutCancel,
  createKey,
  cause,
  remaining,
  DeadlineExceededError,
  CanceledError,
  isDeadlineExceeded,
} from '@ctxkit/core';
import { pendingDeadlines, linkedChildren } from '@ctxkit/core/diagnostics';
import { fakeClock, isLive, type FakeClock } from './fake-clock.js';
import { leakCheckAfterAll } from '@ctxkit/testing';

// Tests of cascading end parents on purpose without cancelling their children: not a leak here.
leakCheckAfterAll(after, { endedWithParent: false }); // no live context, lost cancel or zombie work

let clock: FakeClock;
beforeEach(() => {
  clock = fakeClock();
});
afterEach(() => {
  clock.restore();
});

describe('withTimeout / withDeadline', () => {
  test('ends with DeadlineExceededError (TimeoutError) when the deadline passes', () => {
    const s = withTimeout(background(), 100);
    assert.equal(s.ctx.deadline, clock.now() + 100);
    assert.equal(remaining(s.ctx), 100);
    clock.tick(99);
    assert.ok(isLive(s.ctx));
    clock.tick(1);
    assert.ok(s.ctx.err instanceof DeadlineExceededError);
    assert.equal(s.ctx.err.name, 'TimeoutError');
    assert.ok(isDeadlineExceeded(s.ctx.err));
    assert.equal(cause(s.ctx), s.ctx.err);
    assert.equal(remaining(s.ctx), 0);
  });

  test('the cause given to withTimeout is reported when the deadline fires', () => {
    const why = new Error('upstream budget');
    const s = withTimeout(background(), 10, why);
    clock.tick(10);
    assert.equal(cause(s.ctx), why);
    assert.equal(s.ctx.err?.cause, why);
  });

  test('cancel before the deadline wins: CanceledError, timer removed', () => {
    const s = withTimeout(background(), 100, 'late');
    assert.equal(pendingDeadlines(), 1);
    s.cancel();
    assert.equal(pendingDeadlines(), 0);
    assert.equal(clock.pending(), 0, 'no timer left on a test clock');
    clock.tick(200);
    assert.ok(s.ctx.err instanceof CanceledError);
    assert.equal(cause(s.ctx), s.ctx.err);
  });

  test('effective deadline is the earlier of own and parent; no timer when the parent is earlier', () => {
    const p = withTimeout(background(), 50);
    const c = withTimeout(p.ctx, 1000);
    assert.equal(c.ctx.deadline, p.ctx.deadline);
    assert.equal(pendingDeadlines(), 1, 'only the parent has a timer');
    const earlier = withTimeout(p.ctx, 10);
    assert.equal(earlier.ctx.deadline, clock.now() + 10);
    assert.equal(pendingDeadlines(), 2);
    clock.tick(10);
    assert.ok(earlier.ctx.err instanceof DeadlineExceededError);
    assert.ok(isLive(p.ctx));
    clock.tick(40);
    assert.ok(c.ctx.err instanceof DeadlineExceededError, 'child ended by the parent deadline keeps the deadline kind');
    assert.equal(c.ctx.err, p.ctx.err);
    assert.equal(pendingDeadlines(), 0);
  });

  test('deadlines fire in deadline order regardless of creation order', () => {
    const order: number[] = [];
    for (const ms of [30, 10, 20, 40, 5]) {
      const s = withTimeout(background(), ms);
      s.ctx.signal.addEventListener('abort', () => order.push(ms));
    }
    clock.tick(100);
    assert.deepEqual(order, [5, 10, 20, 30, 40]);
  });

  test('ctx.deadline: inherited through values and plain children, kept after the end, cut by withoutCancel', () => {
    const key = createKey<string>('k');
    const p = withTimeout(background(), 100);
    const at = clock.now() + 100;
    const v = withValue(p.ctx, key, 'x');
    const c = withCancel(v);
    const gc = withCancel(withValue(c.ctx, key, 'y'));
    assert.equal(v.deadline, at);
    assert.equal(c.ctx.deadline, at);
    assert.equal(gc.ctx.deadline, at);
    assert.equal(remaining(gc.ctx), 100);
    const detached = withCancel(withoutCancel(gc.ctx));
    assert.equal(detached.ctx.deadline, undefined, 'withoutCancel drops the deadline for its subtree');
    const later = withDeadline(detached.ctx, at + 50);
    assert.equal(later.ctx.deadline, at + 50);
    c.cancel();
    assert.equal(gc.ctx.deadline, at, 'an ended context still reports its deadline');
    assert.equal(p.ctx.deadline, at);
    const past = withDeadline(background(), clock.now() - 1);
    assert.equal(past.ctx.deadline, clock.now() - 1, 'a context born past its deadline reports it');
    for (const s of [p, later, detached, past]) s.cancel();
    assert.equal(pendingDeadlines(), 0);
  });

  test('a deadline already past gives a context born ended with DeadlineExceededError', () => {
    for (const s of [
      withTimeout(background(), 0),
      withTimeout(background(), -5),
      withDeadline(background(), clock.now() - 1),
      withDeadline(background(), new Date(clock.now())),
      withDeadline(background(), -Infinity),
    ]) {
      assert.ok(s.ctx.err instanceof DeadlineExceededError);
    }
    assert.equal(pendingDeadlines(), 0);
  });

  test('Infinity adds no own deadline', () => {
    const s = withTimeout(background(), Infinity);
    const d = withDeadline(background(), Infinity);
    assert.equal(s.ctx.deadline, undefined);
    assert.equal(d.ctx.deadline, undefined);
    assert.equal(remaining(s.ctx), Infinity);
    assert.equal(pendingDeadlines(), 0);
    s.cancel();
    d.cancel();
  });

  test('a deadline beyond the longest platform timer (2^31-1 ms) is armed in segments and fires on time', () => {
    const MAX = 0x7fffffff;
    const days30 = 30 * 24 * 3600 * 1000;
    const s = withTimeout(background(), days30);
    assert.ok(
      clock.dues().every((at) => at - clock.now() <= MAX),
      'no timer longer than a platform timer holds',
    );
    clock.tick(MAX);
    assert.ok(isLive(s.ctx), 'still live after the first segment');
    assert.equal(pendingDeadlines(), 1);
    clock.tick(days30 - MAX - 1);
    assert.ok(isLive(s.ctx));
    clock.tick(1);
    assert.ok(s.ctx.err instanceof DeadlineExceededError);
    assert.equal(clock.pending(), 0);
  });

  test('withDeadline accepts epoch ms and Date', () => {
    const a = withDeadline(background(), clock.now() + 30);
    const b = withDeadline(background(), new Date(clock.now() + 20));
    assert.equal(remaining(a.ctx), 30);
    assert.equal(remaining(b.ctx), 20);
    clock.tick(20);
    assert.ok(b.ctx.err);
    assert.ok(isLive(a.ctx));
    a.cancel();
  });

  test('bad input: NaN, non-numbers, invalid Date → TypeError', () => {
    assert.throws(() => withTimeout(background(), NaN), /withTimeout: ms must be a number.*NaN/);
    assert.throws(() => withTimeout(background(), '100' as never), TypeError);
    assert.throws(() => withTimeout(background(), undefined as never), TypeError);
    assert.throws(() => withDeadline(background(), new Date('nope')), /invalid Date/);
    assert.throws(() => withDeadline(background(), NaN), TypeError);
    assert.throws(() => withDeadline(background(), '2030-01-01' as never), TypeError);
    assert.equal(pendingDeadlines(), 0);
  });

  test('deadline children are unlinked when they expire, values still readable', () => {
    const k = createKey<number>('k');
    const p = withCancel(withValue(background(), k, 1));
    const c = withTimeout(p.ctx, 5);
    assert.equal(linkedChildren(p.ctx), 1);
    clock.tick(5);
    assert.equal(linkedChildren(p.ctx), 0);
    assert.equal(c.ctx.value(k), 1);
    p.cancel();
  });

  test('many deadlines: each fires once at its time; cancelled ones never', () => {
    const scopes = Array.from({ length: 500 }, (_, i) => withTimeout(background(), 1 + ((i * 7919) % 300)));
    const cancelled = new Set(scopes.filter((_, i) => i % 3 === 0));
    for (const s of cancelled) s.cancel();
    clock.tick(150);
    for (const s of scopes) {
      if (cancelled.has(s)) assert.ok(s.ctx.err instanceof CanceledError);
      else if ((s.ctx.deadline as number) <= clock.now()) assert.ok(s.ctx.err instanceof DeadlineExceededError);
      else assert.ok(isLive(s.ctx));
    }
    clock.tick(200);
    assert.equal(pendingDeadlines(), 0);
    assert.equal(clock.pending(), 0);
  });
});

describe('the system clock', () => {
  test('deadline timers never keep the process alive', () => {
    clock.restore();
    const script = `
      const { background, withTimeout } = await import('@ctxkit/core');
      const s = withTimeout(background(), 3_600_000);
      void s.ctx.signal; void s.ctx.done;
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.error, undefined, 'the process exited by itself');
    assert.equal(r.status, 0, r.stderr);
  });

  test('a real deadline fires', async () => {
    clock.restore();
    const s = withTimeout(background(), 5);
    const keep = setInterval(() => {}, 1000); // the deadline timer itself is unref'd
    await s.ctx.done;
    clearInterval(keep);
    assert.ok(s.ctx.err instanceof DeadlineExceededError);
  });
});
